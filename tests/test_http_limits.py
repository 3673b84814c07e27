"""A store's batches in flight are limited (STORE_IN_FLIGHT): one past the limit is answered 429,
with Retry-After, before its body is read; the limit holds across service instances sharing the
database; a slot is given back however its batch ends; and a quiet store gets through while
another floods. The pool's wait is bounded: 503, never an unbounded queue, with a Retry-After as
long as the queue it leaves takes."""

import asyncio
import json
import time

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.netutil import bind_sockets

from service import db
from service.http.app import Application
from service.http.server import make_server

from http_helpers import assert_error, record
from raw_http import error_code, exchange, head

# Every slot any store could hold in these tests: the 64-bit key of an advisory lock is its
# classid (high 32 bits) and objid (low 32 bits), with objsubid 1.
HELD_SLOTS = f"""
    SELECT count(*) AS held FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND objsubid = 1
       AND (classid::bigint << 32 | objid::bigint) IN (SELECT {db.slot_key("%s", "n")} FROM generate_series(1, 10) AS n)
"""


def held_slots(query, store_id):
    return query(HELD_SLOTS, (store_id,))[0]["held"]


async def until(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def sync_head(token, length=1000):
    return head(
        "POST",
        "/api/sync/products",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": str(length)},
    )


async def stalled_batch(port, token, query, store_id, held):
    """A batch whose headers are sent and whose body never comes: its slot is held until its
    connection goes (the writer, to close). held: the store's slots held once it has one."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sync_head(token))
    await writer.drain()
    await until(lambda: held_slots(query, store_id) == held)
    return writer


@pytest.fixture
def port(http_server, http_port):
    return http_port


@pytest.mark.gen_test(timeout=20)
async def test_past_the_limit_a_batch_is_429_before_its_body_is_read(port, store, query, config, post, http_client):
    assert config.store_in_flight == 2
    writers = [await stalled_batch(port, store.token, query, store.id, n) for n in (1, 2)]

    # Only the headers are sent, announcing a body: the answer comes without it.
    status, headers, body = await exchange(port, sync_head(store.token, 40 * 1024 * 1024), 2)
    assert (status, error_code(body)) == (429, "too_many_requests")
    assert headers["Retry-After"] == "1"
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, store.token)
    assert_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == "1"
    assert held_slots(query, store.id) == 2
    metrics = (await http_client.fetch(f"http://127.0.0.1:{port}/metrics")).body.decode()
    assert 'wcsync_http_requests_total{route="/api/sync/products",status="429"} 2.0' in metrics

    for writer in writers:  # gone mid-body: their slots are given back
        writer.close()
    await until(lambda: held_slots(query, store.id) == 0)
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, store.token)
    assert response.code == 200, response.body


@pytest.mark.gen_test(timeout=20)
async def test_the_limit_is_per_store(port, make_store, query, post):
    noisy, quiet = make_store("noisy"), make_store("quiet")
    writers = [await stalled_batch(port, noisy.token, query, noisy.id, n) for n in (1, 2)]
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, quiet.token)
    assert response.code == 200, response.body
    for writer in writers:
        writer.close()


@pytest.mark.parametrize("config", [{"store_in_flight": 1}], indirect=True)
@pytest.mark.gen_test(timeout=30)
async def test_a_slot_is_given_back_after_success_failure_and_refusal(port, store, query, post, hold_store_row):
    for n in range(5):  # one after the other: never refused
        response = await post("/api/sync/products", {"products": [record("products", n + 1)]}, store.token)
        assert response.code == 200, response.body
    assert held_slots(query, store.id) == 0

    # Refused after the slot was taken (a body over the batch limit, invalid JSON): given back.
    for body in ("{not json", {"products": 7}):
        response = await post("/api/sync/products", body, store.token)
        assert response.code == 400
        assert held_slots(query, store.id) == 0

    # A batch that fails in the database (killed while it waits on a lock): given back.
    release = hold_store_row(store.id)
    sending = asyncio.ensure_future(post("/api/sync/products", {"products": [record("products", 9)]}, store.token))
    await until(lambda: held_slots(query, store.id) == 1)
    await asyncio.sleep(0.3)
    query(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE %s AND wait_event_type = 'Lock'",
        ("%upsert_products%",),
    )
    response = await sending
    release()
    assert response.code in (500, 503), response.body
    assert held_slots(query, store.id) == 0
    response = await post("/api/sync/products", {"products": [record("products", 10)]}, store.token)
    assert response.code == 200, response.body


@pytest.mark.gen_test(timeout=30)
async def test_the_limit_holds_across_instances_sharing_the_database(port, store, query, config, io_loop):
    """Two Applications, two pools, one database: one batch in flight through each fills the store's
    two slots; a third, through either, is 429."""
    pool = await db.create_pool(config)
    other = make_server(Application(config, pool), config)
    sockets = bind_sockets(0, "127.0.0.1")
    other.add_sockets(sockets)
    other_port = sockets[0].getsockname()[1]
    try:
        first = await stalled_batch(port, store.token, query, store.id, 1)
        second = await stalled_batch(other_port, store.token, query, store.id, 2)
        for through in (port, other_port):
            status, headers, body = await exchange(through, sync_head(store.token), 2)
            assert (status, error_code(body), headers["Retry-After"]) == (429, "too_many_requests", "1")
        second.close()
        await until(lambda: held_slots(query, store.id) == 1)
        client = AsyncHTTPClient()
        response = await client.fetch(
            f"http://127.0.0.1:{other_port}/api/sync/products",
            method="POST",
            body=json.dumps({"products": [record("products", 1)]}),
            headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
            raise_error=False,
        )
        assert response.code == 200, response.body
        first.close()
        await until(lambda: held_slots(query, store.id) == 0)
    finally:
        other.stop()
        await other.close_all_connections()
        pool.close()
        await pool.wait_closed()


@pytest.mark.parametrize("config", [{"pool_size": 1, "pool_wait_s": 0.5}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_no_connection_within_the_wait_is_503_with_retry_after(port, make_store, query, post):
    noisy, quiet = make_store("noisy"), make_store("quiet")
    writer = await stalled_batch(port, noisy.token, query, noisy.id, 1)  # holds the pool's one connection
    began = time.monotonic()
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, quiet.token)
    assert time.monotonic() - began < 3
    assert_error(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    writer.close()
    await until(lambda: held_slots(query, noisy.id) == 0)
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, quiet.token)
    assert response.code == 200, response.body


@pytest.mark.parametrize("config", [{"pool_size": 1, "pool_wait_s": 4}], indirect=True)
@pytest.mark.gen_test(timeout=30)
async def test_a_busy_pools_retry_after_is_as_long_as_its_queue(port, make_store, query, post):
    """The pool's one connection held by a stalled batch, nine requests queue and none is served in
    their 4 s: each 503 asks for the time the requests still queued behind it, and it, take at one
    connection a wait at best (the first out 9 x 4 s, the last 4 s), at most 30 s."""
    noisy, queued = make_store("noisy"), [make_store(f"queued {n}") for n in range(9)]
    writer = await stalled_batch(port, noisy.token, query, noisy.id, 1)
    batch = {"products": [record("products", 1)]}
    responses = await asyncio.gather(*(post("/api/sync/products", batch, store.token) for store in queued))
    for response in responses:
        assert_error(response, 503, "service_unavailable")
    assert sorted(int(response.headers["Retry-After"]) for response in responses) == [4, 8, 12, 16, 20, 24, 28, 30, 30]
    writer.close()
    await until(lambda: held_slots(query, noisy.id) == 0)
    response = await post("/api/sync/products", batch, queued[0].token)
    assert response.code == 200, response.body


@pytest.mark.gen_test(timeout=60)
async def test_a_quiet_store_gets_through_while_another_floods(make_store, post):
    noisy, quiet = make_store("noisy"), make_store("quiet")
    flood = [record("products", n, f"flood {n}") for n in range(1, 1001)]
    statuses, quiet_seconds = [], []
    flooding = True

    async def flooder():
        while flooding:
            response = await post("/api/sync/products", {"products": flood}, noisy.token)
            statuses.append(response.code)
            if response.code == 429:
                assert response.headers["Retry-After"] == "1"
                await asyncio.sleep(0.1)  # sooner than asked: the flood keeps pressing

    flooders = [asyncio.ensure_future(flooder()) for _ in range(6)]
    await asyncio.sleep(0.5)
    for n in range(10):
        began = time.monotonic()
        response = await post("/api/sync/products", {"products": [record("products", n + 1)]}, quiet.token)
        quiet_seconds.append(time.monotonic() - began)
        assert response.code == 200, response.body
        await asyncio.sleep(0.2)
    flooding = False
    await asyncio.gather(*flooders)

    assert set(statuses) <= {200, 429}, statuses
    assert 429 in statuses and 200 in statuses
    assert max(quiet_seconds) < 2, quiet_seconds


# Two store ids whose slot 1 had the same 32-bit key (hashtext), among 400,000 made up: there are
# about 18 such pairs, and md5 makes the ids the same on every run.
COLLIDING_STORES = """
    SELECT min(id::text) AS a, max(id::text) AS b
      FROM (SELECT md5(i::text)::uuid AS id FROM generate_series(1, 400000) AS i) AS ids
     GROUP BY hashtext(id::text || ':' || 1)
    HAVING count(*) > 1
     LIMIT 1
"""


@pytest.mark.gen_test(timeout=30)
async def test_stores_whose_32_bit_slot_keys_collide_do_not_share_a_slot(config, query):
    [pair] = query(COLLIDING_STORES)
    pool = await db.create_pool(config)
    try:
        first = await db.take_slot(pool, pair["a"], 1)
        second = await db.take_slot(pool, pair["b"], 1)
        assert first is not None and second is not None
        assert held_slots(query, pair["a"]) == held_slots(query, pair["b"]) == 1
        await first.release()
        await second.release()
        assert held_slots(query, pair["a"]) == held_slots(query, pair["b"]) == 0
    finally:
        pool.close()
        await pool.wait_closed()

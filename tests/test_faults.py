"""Database faults during real requests: lost backends, refused connections, timeouts.

Each fault is caused for real: a batch is held on a row lock taken by the
test, then its backend is terminated, or the statement times out.
"""

import asyncio
import json

import psycopg2
import pytest

from service.db.migrate import admin_connection, database_name

from http_helpers import blocked_batch_pid

BATCH = {"products": [{"wc_product_id": n, "name": f"product {n}"} for n in range(1, 51)]}


def assert_nothing_kept_and_log_failed(query, store_id, message_part):
    assert query("SELECT count(*) AS n FROM products WHERE store_id = %s", (store_id,)) == [{"n": 0}]
    [log] = query("SELECT status, error_message, completed_at FROM sync_logs WHERE store_id = %s", (store_id,))
    assert log["status"] == "failed"
    assert message_part in log["error_message"]
    assert log["completed_at"] is not None


def assert_unavailable(response):
    assert response.code == 503
    assert response.headers["Retry-After"] == "5"
    assert json.loads(response.body)["error"]["code"] == "service_unavailable"


@pytest.mark.gen_test(timeout=30)
async def test_backend_terminated_mid_batch_gives_503_and_keeps_nothing(post, store, query, hold_store_row):
    hold_store_row(store.id)
    request = asyncio.ensure_future(post("/api/sync/products", BATCH, store.token))
    pid = await blocked_batch_pid(query, "upsert_products")
    query("SELECT pg_terminate_backend(%s)", (pid,))
    response = await request

    assert_unavailable(response)
    assert b"terminat" not in response.body  # no database text reaches the client
    assert_nothing_kept_and_log_failed(query, store.id, "OperationalError")


@pytest.mark.parametrize("config", [{"store_in_flight": 4}], indirect=True)
@pytest.mark.gen_test(timeout=30)
async def test_service_recovers_by_itself_after_its_connections_are_killed(post, store, query):
    """A database restart leaves the pool's connections dead: the very next requests succeed,
    without a restart of the service."""
    responses = await asyncio.gather(*(post("/api/sync/products", BATCH, store.token) for _ in range(4)))
    assert [response.code for response in responses] == [200] * 4  # the pool now holds several connections
    query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    for _ in range(3):
        response = await post("/api/sync/products", BATCH, store.token)
        assert response.code == 200, response.body


@pytest.fixture
def refuse_connections(database_url, query):
    """refuse_connections(): the database takes no new connections and loses its current ones."""
    name = database_name(database_url)
    admin = admin_connection(database_url)

    def refuse():
        with admin.cursor() as cur:
            cur.execute(
                psycopg2.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(psycopg2.sql.Identifier(name))
            )
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name <> 'keep'",
                (name,),
            )

    def allow():
        with admin.cursor() as cur:
            cur.execute(
                psycopg2.sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(psycopg2.sql.Identifier(name))
            )

    yield refuse, allow
    allow()
    admin.close()


@pytest.mark.gen_test(timeout=30)
async def test_unreachable_database_gives_503_then_recovers(post, store, http_client, base_url, refuse_connections):
    refuse, allow = refuse_connections
    refuse()
    await asyncio.sleep(0.1)
    assert_unavailable(await post("/api/sync/products", BATCH, store.token))
    health = await http_client.fetch(base_url + "/health", raise_error=False)
    assert health.code == 503

    allow()
    response = await post("/api/sync/products", BATCH, store.token)
    assert response.code == 200, response.body
    assert (await http_client.fetch(base_url + "/health")).code == 200


@pytest.mark.parametrize("config", [{"statement_timeout_ms": 500}], indirect=True)
@pytest.mark.gen_test(timeout=30)
async def test_statement_timeout_bounds_a_stuck_batch(config, post, store, query, hold_store_row):
    hold_store_row(store.id)
    response = await post("/api/sync/products", BATCH, store.token)
    assert_unavailable(response)
    assert_nothing_kept_and_log_failed(query, store.id, "statement timeout")

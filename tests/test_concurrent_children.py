"""Two writes of one record in flight together: its child rows (a product's category links, an
order's items) end as the newest record alone would leave them, whichever commits first, over
HTTP and from psql.

The first write is held uncommitted while the second starts and waits for the row the first
holds, so that the second's statement began before the first committed: a link or an item the
first wrote is then invisible to a statement of the second that started earlier. The oracle is
another store that received only the newest record (after the same earlier state, if any).
"""

import asyncio
import json
import random
import threading

import psycopg2
import pytest

from http_helpers import blocked_batch_pids

# Many batches of one store at once, each with a connection, beside those authenticating.
many_in_flight = pytest.mark.parametrize("config", [{"store_in_flight": 64, "pool_size": 12}], indirect=True)

OLDER, NEWER = "2026-01-01T10:00:01", "2026-01-01T10:00:02"


def product(categories, modified):
    return {"id": 7, "name": "Hoodie", "categories": [{"id": c} for c in categories], "date_modified_gmt": modified}


def order(products, modified):
    items = [{"id": 100 + n, "product_id": p, "quantity": n + 1, "total": "5.00"} for n, p in enumerate(products)]
    return {"id": 9, "status": "completed", "line_items": items, "date_modified_gmt": modified}


# entity: (a stored record before both writes, the older write, the newer write)
WRITES = {
    "products": (product([1], "2026-01-01T10:00:00"), product([1, 2], OLDER), product([1, 3], NEWER)),
    "orders": (order([1], "2026-01-01T10:00:00"), order([10, 11, 12], OLDER), order([20], NEWER)),
}

# The child rows of an entity's record, as the store keeps them, by WooCommerce ids.
CHILDREN = {
    "products": """SELECT p.wc_product_id, pc.wc_category_id, pc.position, p.wc_category_ids
                     FROM products p JOIN product_categories pc ON pc.store_id = p.store_id AND pc.product_id = p.id
                    WHERE p.store_id = %s ORDER BY 1, 2""",
    "orders": """SELECT o.wc_order_id, i.position, i.wc_line_item_id, i.wc_product_id, i.quantity, o.updated_at
                   FROM orders o JOIN order_items i ON i.store_id = o.store_id AND i.order_id = o.id
                  WHERE o.store_id = %s ORDER BY 1, 2""",
}


def children(query, entity, store_id):
    return query(CHILDREN[entity], (store_id,))


def assert_synced(response):
    assert response.code == 200, response.body
    return json.loads(response.body)["data"]


@pytest.fixture
def oracle(make_store, sync_sql, query):
    """oracle(entity, *records) -> the child rows a fresh store has after the records, one by one."""

    def rows(entity, *records):
        reference = make_store("oracle")
        for record in records:
            assert sync_sql(entity, reference.id, [record])["status"] == "completed"
        return children(query, entity, reference.id)

    return rows


ORDERS_OF_COMMIT = {"older commits first": (1, 2), "newer commits first": (2, 1)}


@pytest.mark.parametrize("entity", WRITES)
@pytest.mark.parametrize("stored_before", [True, False], ids=["stored before", "new"])
@pytest.mark.parametrize("commits", ORDERS_OF_COMMIT.values(), ids=ORDERS_OF_COMMIT)
@many_in_flight
@pytest.mark.gen_test(timeout=30)
async def test_over_http_the_newest_record_sets_the_child_rows(
    post, store, query, hold_store_row, oracle, entity, stored_before, commits
):
    before, *writes = WRITES[entity]
    if stored_before:
        assert_synced(await post(f"/api/sync/{entity}", {entity: [before]}, store.token))
    # The first batch writes its rows, then waits at its last statement, uncommitted; the second
    # starts and waits for the record's row (or, under an order lock, for the first batch).
    release = hold_store_row(store.id)
    first, second = (writes[n - 1] for n in commits)
    sent = [asyncio.ensure_future(post(f"/api/sync/{entity}", {entity: [first]}, store.token))]
    await blocked_batch_pids(query, f"upsert_{entity}", 1)
    sent.append(asyncio.ensure_future(post(f"/api/sync/{entity}", {entity: [second]}, store.token)))
    await blocked_batch_pids(query, f"upsert_{entity}", 2)
    release()

    results = [assert_synced(await request) for request in sent]
    # the older record, if it came second, is left out as stale
    assert [r["unchangedCount"] for r in results] == ([0, 0] if commits == (1, 2) else [0, 1])
    expected = oracle(entity, *([before] if stored_before else []), writes[1])
    assert children(query, entity, store.id) == expected


@pytest.mark.parametrize("entity", WRITES)
@pytest.mark.parametrize("stored_before", [True, False], ids=["stored before", "new"])
@pytest.mark.parametrize("commits", ORDERS_OF_COMMIT.values(), ids=ORDERS_OF_COMMIT)
@pytest.mark.gen_test(timeout=30)
async def test_from_psql_the_newest_record_sets_the_child_rows(
    database_url, store, query, sync_sql, oracle, entity, stored_before, commits
):
    before, *writes = WRITES[entity]
    if stored_before:
        sync_sql(entity, store.id, [before])
    first, second = (writes[n - 1] for n in commits)
    sessions = [psycopg2.connect(database_url) for _ in range(2)]
    try:
        call = f"SELECT (upsert_{entity}(%s, %s::jsonb)).status"
        with sessions[0].cursor() as cur:  # an open transaction, as in psql after BEGIN
            cur.execute(call, (store.id, json.dumps([first])))
            assert cur.fetchone() == ("completed",)
        outcome = []

        def second_session():
            with sessions[1].cursor() as cur:
                cur.execute(call, (store.id, json.dumps([second])))
                outcome.append(cur.fetchone())
            sessions[1].commit()

        waiting = threading.Thread(target=second_session)
        waiting.start()
        await blocked_batch_pids(query, f"upsert_{entity}", 1)
        sessions[0].commit()
        waiting.join(timeout=10)
        assert outcome == [("completed",)]
    finally:
        for session in sessions:
            session.close()

    expected = oracle(entity, *([before] if stored_before else []), writes[1])
    assert children(query, entity, store.id) == expected


def random_writes(rng, entity, count):
    """count single-record writes of three records of entity, each with a distinct updated_at."""
    moments = rng.sample(range(1, 10_000), count)
    writes = []
    for moment in moments:
        modified = f"2026-01-01T{moment // 3600:02}:{moment // 60 % 60:02}:{moment % 60:02}"
        picks = rng.sample(range(1, 30), rng.randint(0, 4))
        record = product(picks, modified) if entity == "products" else order(picks, modified)
        record["id"] = rng.randint(1, 3)
        writes.append(record)
    return writes


TOPICS = {"products": "product.updated", "orders": "order.updated"}


@pytest.mark.parametrize("entity", WRITES)
@pytest.mark.parametrize("seed", range(3))
@many_in_flight
@pytest.mark.gen_test(timeout=60)
async def test_many_concurrent_writes_leave_each_record_as_its_newest_write(
    post, deliver, webhook_store, query, oracle, entity, seed
):
    """24 writes of three records in flight at once, in a random order, half of them single-record
    batches and half WooCommerce webhook deliveries: each record's child rows are those of its
    newest write alone."""
    store, secret = webhook_store()
    writes = random_writes(random.Random(seed), entity, 24)
    responses = await asyncio.gather(
        *(
            post(f"/api/sync/{entity}", {entity: [w]}, store.token)
            if n % 2
            else deliver(store.id, secret, TOPICS[entity], w)
            for n, w in enumerate(writes)
        )
    )
    for response in responses:
        assert_synced(response)

    newest = {}
    for record in sorted(writes, key=lambda w: w["date_modified_gmt"]):
        newest[record["id"]] = record
    assert children(query, entity, store.id) == oracle(entity, *newest.values())

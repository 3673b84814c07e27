"""Concurrent batches of one store through real, simultaneous HTTP requests.

Overlapping batches of the same entity must all succeed (no deadlock, no
lost or doubled row), and a categories batch running beside a products
batch must leave every product's category reference resolved.
"""

import asyncio
import json

import pytest

from service.batch.entities import ENTITIES

from http_helpers import blocked_batch_pid, record, stored

# One store's batches run side by side here: more than STORE_IN_FLIGHT's default of 2, each with a
# connection of its own, beside those authenticating and settling.
pytestmark = pytest.mark.parametrize("config", [{"store_in_flight": 8, "pool_size": 12}], indirect=True)


def assert_ok(response):
    assert response.code == 200, response.body
    body = json.loads(response.body)
    assert body["success"] is True
    return body["data"]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test(timeout=30)
async def test_overlapping_batches_of_one_store_all_succeed(post, store, query, entity):
    # Four batches of 300 ids, each overlapping the next by 200, in shuffled
    # orders (one reversed), so that they contend for the same rows.
    batches = []
    for k in range(4):
        ids = list(range(k * 100 + 1, k * 100 + 301))
        if k % 2:
            ids.reverse()
        batches.append([record(entity, wc_id, f"batch {k}") for wc_id in ids])

    responses = await asyncio.gather(*(post(f"/api/sync/{entity}", {entity: batch}, store.token) for batch in batches))

    for response, batch in zip(responses, batches):
        data = assert_ok(response)
        assert (data["syncedCount"], data["skippedCount"], data["unchangedCount"]) == (len(batch), 0, 0)
    rows = stored(query, entity, store.id)
    assert set(rows) == set(range(1, 601))
    for wc_id, name in rows.items():  # each row holds one of the batches that sent it
        senders = {f"batch {k}" for k in range(4) if k * 100 < wc_id <= k * 100 + 300}
        assert name in senders, (wc_id, name)
    logs = query("SELECT status, records_synced FROM sync_logs WHERE store_id = %s", (store.id,))
    assert sorted((log["status"], log["records_synced"]) for log in logs) == [("completed", 300)] * 4


def product(wc_id, category):
    return {"wc_product_id": wc_id, "name": f"product {wc_id}", "category_id": category}


def assert_categories_resolved(query, store_id):
    """Every product and category pointing at an existing category has it resolved."""
    unresolved = query(
        """
        SELECT p.wc_product_id, p.wc_category_id, p.category_id, c.id AS expected
          FROM products p JOIN categories c ON c.store_id = p.store_id AND c.wc_category_id = p.wc_category_id
         WHERE p.store_id = %s AND p.category_id IS DISTINCT FROM c.id
    """,
        (store_id,),
    )
    assert not unresolved, unresolved
    orphans = query(
        """
        SELECT child.wc_category_id FROM categories child
          JOIN categories parent ON parent.store_id = child.store_id AND parent.wc_category_id = child.wc_parent_id
         WHERE child.store_id = %s AND child.parent_id IS DISTINCT FROM parent.id
    """,
        (store_id,),
    )
    assert orphans == []


@pytest.mark.gen_test(timeout=30)
async def test_products_and_categories_batches_run_side_by_side(post, store, query):
    """New products and their new categories sent at the same time: no deadlock, no lost row,
    and every reference resolved whatever the interleaving (the two tests below force the
    interleavings that once left a product unresolved)."""
    categories = [
        {"wc_category_id": n, "name": f"category {n}", "parent_id": n - 1 if n > 1 else None} for n in range(1, 51)
    ]
    products = [product(n, n % 50 + 1) for n in range(1, 401)]

    responses = await asyncio.gather(
        post("/api/sync/categories", {"categories": categories[25:]}, store.token),
        post("/api/sync/products", {"products": products[:200]}, store.token),
        post("/api/sync/categories", {"categories": categories[:25]}, store.token),
        post("/api/sync/products", {"products": products[200:]}, store.token),
    )

    for response in responses:
        assert assert_ok(response)["skippedCount"] == 0
    rows = query("SELECT wc_product_id, wc_category_id FROM products WHERE store_id = %s", (store.id,))
    assert sorted((row["wc_product_id"], row["wc_category_id"]) for row in rows) == [
        (n, n % 50 + 1) for n in range(1, 401)
    ]
    assert stored(query, "categories", store.id) == {n: f"category {n}" for n in range(1, 51)}
    assert_categories_resolved(query, store.id)


# --- A deterministic interleaving of one products and one categories batch ---


@pytest.mark.gen_test(timeout=30)
async def test_product_resolution_survives_a_concurrent_products_batch(post, store, query, hold_store_row):
    # A product waiting for its category 77.
    assert_ok(await post("/api/sync/products", {"products": [product(1, 77)]}, store.token))
    release = hold_store_row(store.id)
    # The categories batch writes category 77, resolves product 1 (holding its
    # row) and then waits at stores.last_sync_at on the held store row.
    categories = asyncio.ensure_future(
        post("/api/sync/categories", {"categories": [{"wc_category_id": 77, "name": "late"}]}, store.token)
    )
    await blocked_batch_pid(query, "upsert_categories")
    # A products batch re-sending product 1 starts now: category 77 is not yet
    # committed, and product 1's row is held by the categories batch.
    products = asyncio.ensure_future(post("/api/sync/products", {"products": [product(1, 77)]}, store.token))
    await blocked_batch_pid(query, "upsert_products")
    release()

    assert_ok(await categories)
    assert_ok(await products)
    assert_categories_resolved(query, store.id)


@pytest.mark.gen_test(timeout=30)
async def test_category_resolution_reaches_products_of_a_concurrent_batch(post, store, query, hold_store_row):
    release = hold_store_row(store.id)
    # The products batch writes product 1 (its category 5 does not exist yet)
    # and waits at stores.last_sync_at; then the categories batch writes
    # category 5, looks for waiting products (product 1 is not committed) and
    # waits there too.
    products = asyncio.ensure_future(post("/api/sync/products", {"products": [product(1, 5)]}, store.token))
    await blocked_batch_pid(query, "upsert_products")
    categories = asyncio.ensure_future(
        post("/api/sync/categories", {"categories": [{"wc_category_id": 5, "name": "five"}]}, store.token)
    )
    await blocked_batch_pid(query, "upsert_categories")
    release()

    assert_ok(await products)
    assert_ok(await categories)
    assert_categories_resolved(query, store.id)


# --- Orders against the products and customers they reference ---


def assert_orders_resolved(query, store_id):
    """Every order item and order pointing at an existing product or customer has it resolved."""
    unresolved = query(
        """
        SELECT i.wc_product_id FROM order_items i
          JOIN products p ON p.store_id = i.store_id AND p.wc_product_id = i.wc_product_id
         WHERE i.store_id = %s AND i.product_id IS DISTINCT FROM p.id
        UNION ALL
        SELECT o.wc_customer_id FROM orders o
          JOIN customers c ON c.store_id = o.store_id AND c.wc_customer_id = o.wc_customer_id
         WHERE o.store_id = %s AND o.customer_id IS DISTINCT FROM c.id
    """,
        (store_id, store_id),
    )
    assert not unresolved, unresolved


REFERENCED = {"products": {"wc_product_id": 5, "name": "five"}, "customers": {"wc_customer_id": 7}}


@pytest.mark.parametrize("referenced", REFERENCED)
@pytest.mark.parametrize("orders_first", [True, False], ids=["orders first", "orders second"])
@pytest.mark.gen_test(timeout=30)
async def test_orders_resolve_against_a_concurrent_batch_of_what_they_reference(
    post, store, query, hold_store_row, referenced, orders_first
):
    """An order (customer 7, an item of product 5) and the product or customer, in two batches at
    once: the first waits at stores.last_sync_at, uncommitted, while the second starts. Without
    order_lock_key, neither would see the other's row and the reference would stay unresolved."""
    batches = [
        (
            "orders",
            {
                "wc_order_id": 1,
                "status": "completed",
                "customer_id": 7,
                "line_items": [{"product_id": 5, "quantity": 1}],
            },
        ),
        (referenced, REFERENCED[referenced]),
    ]
    if not orders_first:
        batches.reverse()
    release = hold_store_row(store.id)
    requests = []
    for entity, row in batches:
        requests.append(asyncio.ensure_future(post(f"/api/sync/{entity}", {entity: [row]}, store.token)))
        await blocked_batch_pid(query, f"upsert_{entity}")
    release()

    for request in requests:
        assert assert_ok(await request)["syncedCount"] == 1
    assert_orders_resolved(query, store.id)


# --- A run's batch in flight while the run ends ---


@pytest.mark.parametrize("end", ["abort", "complete"])
@pytest.mark.gen_test(timeout=30)
async def test_a_run_ended_while_its_batch_is_in_flight_keeps_no_carried_ids(post, store, query, hold_store_row, end):
    """The batch has read the run running and waits at its last statement, uncommitted, while the
    run is ended: the end waits for the batch, so that what the batch carried is released with
    the rest of the run's (it would stay on the batch's log for good)."""
    response = await post("/api/sync/runs", {"entities": ["products"]}, store.token)
    run_id = json.loads(response.body)["data"]["runId"]
    release = hold_store_row(store.id)
    headers = {"X-Sync-Run": run_id, "X-Sync-Batch": "1"}
    batch = asyncio.ensure_future(post("/api/sync/products", {"products": [product(1, 5)]}, store.token, headers))
    await blocked_batch_pid(query, "upsert_products")
    ended = asyncio.ensure_future(post(f"/api/sync/runs/{run_id}/{end}", {"batches": {"products": 1}}, store.token))
    await blocked_batch_pid(query, f"sync_run_{end}")
    release()

    assert_ok(await batch)
    assert_ok(await ended)
    logs = query("SELECT status, carried_ids FROM sync_logs WHERE store_id = %s", (store.id,))
    assert logs == [{"status": "completed", "carried_ids": None}]

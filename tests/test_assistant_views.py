"""Issue 11's "done when", end to end over HTTP and PostgreSQL.

A WooCommerce store as REST API v3 returns it (tests/woocommerce_store.py) is
synced orders first, then products, customers, categories. Every item
resolves once its product arrives; customer_order_stats, category_sales and
category_sales_rollup equal the figures computed in Python from what was
sent; no column of any table holds a name, address, phone, IP or plain
email. Then: plugin-sent figures, a cycle in the tree, and the plans of the
views for one store.
"""

import json
from decimal import Decimal

import psycopg2
import pytest

from service.http.auth import hash_token, new_token

from sql_helpers import columns_holding, failing_trigger
from woocommerce_store import UNSENT_PRODUCT, Store

VIEWS = ["customer_order_stats", "category_sales", "category_sales_rollup"]


async def sync(post, store, entity, records, batch=25):
    for start in range(0, len(records), batch):
        response = await post(f"/api/sync/{entity}", {entity: records[start : start + batch]}, store.token)
        assert response.code == 200, response.body
        data = json.loads(response.body)["data"]
        assert (data["syncedCount"], data["errors"]) == (len(records[start : start + batch]), []), data


def item_products(query, store_id):
    """[(wc_product_id, resolved product key)] of every order item of the store."""
    return [
        (row["wc_product_id"], row["product_id"])
        for row in query("SELECT wc_product_id, product_id FROM order_items WHERE store_id = %s", (store_id,))
    ]


def customer_stats(query, store_id):
    return {
        (row["wc_customer_id"], row["email_hash"]): (
            row["order_count"],
            row["total_spent"],
            row["first_order_date"],
            row["last_order_date"],
        )
        for row in query("SELECT * FROM customer_order_stats WHERE store_id = %s", (store_id,))
    }


def category_figures(query, view, store_id):
    rows = query(f"SELECT * FROM {view} WHERE store_id = %s", (store_id,))
    figures = {
        row["wc_category_id"]: (row["category_name"], row["order_count"], row["units_sold"], row["revenue"])
        for row in rows
    }
    assert len(figures) == len(rows), "a category twice"
    return figures


@pytest.mark.gen_test(timeout=60)
async def test_a_v3_store_synced_orders_first_gives_the_figures_computed_from_what_was_sent(post, store, query):
    shop = Store()
    await sync(post, store, "orders", shop.orders)
    sent_items = [item for order in shop.orders for item in order["line_items"]]
    assert len(item_products(query, store.id)) == len(sent_items) > len(shop.orders)
    assert all(product is None for _, product in item_products(query, store.id))

    await sync(post, store, "products", shop.products)
    keys = {
        row["wc_product_id"]: row["id"]
        for row in query("SELECT wc_product_id, id FROM products WHERE store_id = %s", (store.id,))
    }
    items = item_products(query, store.id)
    assert sorted(items, key=str) == sorted(
        ((item["product_id"] or None, keys.get(item["product_id"])) for item in sent_items), key=str
    )
    assert {wc_id for wc_id, key in items if key is None} == {UNSENT_PRODUCT, None}  # never sent, or 0

    await sync(post, store, "customers", shop.customers)
    await sync(post, store, "categories", shop.categories)
    unresolved = query(
        """SELECT o.wc_order_id FROM orders o JOIN customers c USING (store_id, wc_customer_id)
                           WHERE o.store_id = %s AND o.customer_id IS DISTINCT FROM c.id""",
        (store.id,),
    )
    assert unresolved == []

    expected = shop.customer_order_stats()
    assert {key for key in expected if key[0] is None}, "guests"
    assert customer_stats(query, store.id) == expected
    assert category_figures(query, "category_sales", store.id) == shop.category_sales()
    rollup = shop.category_sales(rollup=True)
    assert rollup[10][1:] != shop.category_sales()[10][1:]  # Clothing gains its subcategories' sales
    assert category_figures(query, "category_sales_rollup", store.id) == rollup
    names = query("SELECT wc_customer_id, display_name FROM customers WHERE store_id = %s", (store.id,))
    assert {row["display_name"] for row in names} == {f"{c['first_name']} {c['last_name'][0]}." for c in shop.customers}


@pytest.mark.gen_test(timeout=60)
async def test_no_column_holds_a_name_address_phone_ip_or_plain_email(post, store, query):
    """Stored, skipped and failed batches alike."""
    shop = Store(seed=12, orders=30)
    await sync(post, store, "orders", shop.orders)
    await sync(post, store, "customers", shop.customers)
    skipped = {**shop.orders[0], "id": 1, "total": "-1"}
    response = await post("/api/sync/orders", {"orders": [skipped]}, store.token)
    assert json.loads(response.body)["data"]["skippedCount"] == 1
    with failing_trigger(query, "orders", store.id):
        response = await post("/api/sync/orders", {"orders": [{**shop.orders[1], "id": 2}]}, store.token)
    assert response.code == 500

    pii = shop.pii()
    assert len(pii) > 100 and any("@" in text for text in pii)
    assert columns_holding(query, pii) == []
    hashes = query("SELECT email_hash FROM orders WHERE store_id = %s AND email_hash IS NOT NULL", (store.id,))
    assert hashes and all(len(row["email_hash"]) == 64 for row in hashes)


def test_plugin_sent_figures_win_field_by_field_over_those_of_the_orders(store, sync_sql, query):
    sync_sql(
        "orders",
        store.id,
        [
            {"id": 1, "status": "completed", "customer_id": 7, "total": "10.00", "created_at": "2026-01-01T00:00:00Z"},
            {"id": 2, "status": "processing", "customer_id": 7, "total": "5.50", "created_at": "2026-02-01T00:00:00Z"},
            {"id": 3, "status": "refunded", "customer_id": 7, "total": "99.00", "created_at": "2026-03-01T00:00:00Z"},
            {"id": 4, "status": "completed", "customer_id": 8, "total": "1", "email": "eight@example.com"},
        ],
    )
    sync_sql(
        "customers", store.id, [{"id": 7, "order_count": 12, "last_order_date": "2026-05-01T00:00:00Z"}, {"id": 9}]
    )
    rows = {
        row["wc_customer_id"]: row
        for row in query("SELECT * FROM customer_order_stats WHERE store_id = %s", (store.id,))
    }
    assert (rows[7]["order_count"], rows[7]["total_spent"]) == (12, Decimal("15.50"))
    assert (rows[7]["first_order_date"].isoformat(), rows[7]["last_order_date"].isoformat()) == (
        "2026-01-01T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00",
    )
    assert (rows[8]["order_count"], rows[8]["total_spent"], rows[8]["email_hash"] is not None) == (1, 1, True)
    assert (rows[9]["order_count"], rows[9]["total_spent"], rows[9]["first_order_date"]) == (0, 0, None)


def test_the_rollup_ends_on_a_cycle_in_the_category_tree(store, sync_sql, query):
    sync_sql("categories", store.id, [{"id": 1, "name": "A", "parent": 2}, {"id": 2, "name": "B", "parent": 1}])
    sync_sql("products", store.id, [{"id": 5, "name": "p", "categories": [{"id": 1}]}])
    sync_sql(
        "orders",
        store.id,
        [{"id": 1, "status": "completed", "line_items": [{"product_id": 5, "quantity": 2, "total": "3"}]}],
    )
    assert category_figures(query, "category_sales_rollup", store.id) == {
        1: ("A", 1, 2, Decimal(3)),
        2: ("B", 1, 2, Decimal(3)),
    }


# --- One store's query reads only that store's rows ---------------------------------------------

TENANT_TABLES = {"orders", "order_items", "products", "product_categories", "categories", "customers"}


def scans(plan):
    """Every node of an EXPLAIN (FORMAT JSON) plan that reads a table, with the index it used."""
    pending, found = [plan], []
    while pending:
        node = pending.pop()
        pending.extend(node.get("Plans", []))
        if "Relation Name" in node:
            children = node.get("Plans", [])
            condition = node.get("Index Cond") or " ".join(child.get("Index Cond", "") for child in children)
            found.append((node["Relation Name"], node["Node Type"], condition))
    return found


@pytest.fixture(scope="module")
def crowded(database_url):
    """40 other stores' orders, products, customers and categories in the tables, analysed: each
    with 120 orders and 60 categories, a small store; the store under test is smaller still."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for n in range(40):
            shop = Store(seed=100 + n, orders=120, more_categories=60)
            cur.execute("SELECT create_store(%s, %s)", (f"crowd {n}", hash_token(new_token())))
            [store_id] = cur.fetchone()
            for entity in ("categories", "products", "customers", "orders"):
                cur.execute(
                    f"SELECT status FROM upsert_{entity}(%s, %s::jsonb)", (store_id, json.dumps(getattr(shop, entity)))
                )
                assert cur.fetchone() == ("completed",)
        cur.execute("ANALYZE")
    conn.close()


@pytest.mark.parametrize("view", VIEWS)
def test_a_query_for_one_store_scans_only_that_stores_rows(view, crowded, store, sync_sql, query):
    """With the other stores' rows in the tables, the planner's own choice (no setting forced):
    every store's table is read through an index whose condition fixes store_id, never scanned
    whole. (stores, a reference table, is read for its one row.)"""
    shop = Store(orders=10)
    for entity in ("categories", "products", "customers", "orders"):
        sync_sql(entity, store.id, getattr(shop, entity))
    [[row]] = [
        list(r.values()) for r in query(f"EXPLAIN (FORMAT JSON) SELECT * FROM {view} WHERE store_id = %s", (store.id,))
    ]
    found = scans(row[0]["Plan"])
    tables = {table for table, _, _ in found}
    assert tables & TENANT_TABLES >= {"orders"} and tables <= TENANT_TABLES | {"stores"}, found
    for table, node_type, condition in found:
        if table != "stores":
            assert node_type in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan"), (table, node_type)
            assert "store_id = " in condition, (table, node_type, condition)


def test_rows_a_full_sync_run_marked_deleted_are_left_out(store, sync_sql, query):
    """Deleted orders, customers and categories leave the views; a deleted product's sales stay."""
    sync_sql("categories", store.id, [{"id": 10, "name": "Kept"}, {"id": 20, "name": "Gone"}])
    sync_sql(
        "products",
        store.id,
        [
            {"id": 1, "name": "kept", "categories": [{"id": 10}]},
            {"id": 2, "name": "gone", "categories": [{"id": 10}, {"id": 20}]},
        ],
    )
    sync_sql("customers", store.id, [{"id": 7}, {"id": 8}])
    kept_order = {
        "id": 100,
        "status": "completed",
        "customer_id": 7,
        "total": "3",
        "line_items": [{"product_id": 1, "quantity": 1, "total": "1"}, {"product_id": 2, "quantity": 1, "total": "2"}],
    }
    sync_sql(
        "orders",
        store.id,
        [
            kept_order,
            {
                "id": 101,
                "status": "completed",
                "customer_id": 7,
                "total": "5",
                "line_items": [{"product_id": 1, "quantity": 5, "total": "5"}],
            },
            {"id": 102, "status": "completed", "customer_id": 8, "total": "4"},
        ],
    )
    [run] = query(
        "SELECT sync_run_start(%s, ARRAY['categories', 'products', 'customers', 'orders']) AS id", (store.id,)
    )
    for entity, records in [
        ("categories", [{"id": 10, "name": "Kept"}]),
        ("products", [{"id": 1, "name": "kept", "categories": [{"id": 10}]}]),
        ("customers", [{"id": 7}]),
        ("orders", [kept_order]),
    ]:
        query(
            "SELECT * FROM sync_run_batch(%s, %s, %s, 1, %s::jsonb)", (store.id, run["id"], entity, json.dumps(records))
        )
    query(
        "SELECT * FROM sync_run_complete(%s, %s, %s::jsonb)",
        (store.id, run["id"], json.dumps(dict.fromkeys(["categories", "products", "customers", "orders"], 1))),
    )

    stats = {key[0]: figures[:2] for key, figures in customer_stats(query, store.id).items()}
    assert stats == {7: (1, Decimal(3))}  # customer 8 deleted; order 101 deleted
    # order 100 alone: product 1's item in category 10, and deleted product 2's item still counted there
    assert category_figures(query, "category_sales", store.id) == {10: ("Kept", 1, 2, Decimal(3))}
    assert category_figures(query, "category_sales_rollup", store.id) == {10: ("Kept", 1, 2, Decimal(3))}

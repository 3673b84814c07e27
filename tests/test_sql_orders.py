"""upsert_orders (sql/upsert_orders.sql), called directly as from psql.

What is particular to orders: line items kept in order_items and replaced
with their order, references to customers and products resolved whichever
arrives first, the buyer's email kept only as its hash, money exact. The
edges of every field, in both layers, are in test_order_cases.py; the batch
contract shared with the other entities in test_sql_sync_logs.py.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sql_helpers import rows, sha256_hex

UTC = UTC


def order_rows(query, store_id):
    return {row["wc_order_id"]: row for row in rows(query, "orders", store_id)}


def items(query, store_id):
    """{wc_order_id: [(wc_product_id, product key or None, quantity, total), ...] in position order}."""
    found = query(
        """
        SELECT o.wc_order_id, i.wc_product_id, i.product_id, i.quantity, i.total
          FROM order_items i JOIN orders o ON o.store_id = i.store_id AND o.id = i.order_id
         WHERE i.store_id = %s ORDER BY o.wc_order_id, i.position""",
        (store_id,),
    )
    result = {}
    for row in found:
        result.setdefault(row["wc_order_id"], []).append(
            (row["wc_product_id"], row["product_id"], row["quantity"], row["total"])
        )
    return result


def key_of(query, table, id_column, store_id, wc_id):
    [row] = query(f"SELECT id FROM {table} WHERE store_id = %s AND {id_column} = %s", (store_id, wc_id))
    return row["id"]


def test_every_field_is_stored_as_sent(store, sync_sql, query):
    result = sync_sql(
        "orders",
        store.id,
        [
            {
                "wc_order_id": 1001,
                "status": "completed",
                "currency": "EUR",
                "total": "54.970",
                "subtotal": "49.98",
                "total_tax": "0",
                "shipping_total": 4.99,
                "discount_total": "",
                "customer_id": 42,
                "email": " John@Example.com",
                "billing_country": "DE",
                "created_at": "2026-01-15T10:30:00Z",
                "updated_at": "2026-01-16T08:00:00+01:00",
                "paid_at": "2026-01-15",
                "completed_at": "2026-01-16T07:00:00",
                "line_items": [
                    {
                        "id": 7,
                        "product_id": 501,
                        "variation_id": 502,
                        "quantity": 2,
                        "subtotal": "49.98",
                        "total": "44.98",
                        "price": 24.99,
                        "sku": "BW-001",
                        "name": "Blue Widget",
                    },
                    {"product_id": 0, "quantity": 1},
                ],
            }
        ],
    )

    assert (result["synced_count"], result["errors"]) == (1, [])
    row = order_rows(query, store.id)[1001]
    assert {key: row[key] for key in row if key not in ("store_id", "id", "synced_at")} == {
        "wc_order_id": 1001,
        "status": "completed",
        "currency": "EUR",
        "total": Decimal("54.970"),
        "subtotal": Decimal("49.98"),
        "total_tax": Decimal(0),
        "shipping_total": Decimal("4.99"),
        "discount_total": None,
        "wc_customer_id": 42,
        "customer_id": None,
        "email_hash": sha256_hex("john@example.com"),
        "billing_country": "DE",
        "created_at": datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 16, 7, tzinfo=UTC),
        "paid_at": datetime(2026, 1, 15, tzinfo=UTC),
        "completed_at": datetime(2026, 1, 16, 7, tzinfo=UTC),
        "deleted_at": None,
        "deleted_by_webhook": False,
    }
    stored = rows(query, "order_items", store.id, order_by="position")
    assert [{key: item[key] for key in item if key not in ("store_id", "order_id")} for item in stored] == [
        {
            "position": 0,
            "wc_line_item_id": 7,
            "wc_product_id": 501,
            "product_id": None,
            "wc_variation_id": 502,
            "quantity": 2,
            "subtotal": Decimal("49.98"),
            "total": Decimal("44.98"),
            "price": Decimal("24.99"),
            "sku": "BW-001",
            "name": "Blue Widget",
        },
        {
            "position": 1,
            "wc_line_item_id": None,
            "wc_product_id": None,
            "product_id": None,
            "wc_variation_id": None,
            "quantity": 1,
            "subtotal": None,
            "total": None,
            "price": None,
            "sku": None,
            "name": None,
        },
    ]
    assert {item["order_id"] for item in stored} == {row["id"]}


def test_woocommerce_names_and_nested_billing_are_read(store, sync_sql, query):
    sync_sql(
        "orders",
        store.id,
        [
            {
                "id": 5,
                "status": "processing",
                "customer_id": 0,
                "billing": {"first_name": "Ann", "email": "ANN@example.com ", "country": "FR", "phone": "+33 1"},
                "date_created_gmt": "2026-01-15T10:30:00",
                "date_modified_gmt": "2026-01-15T11:00:00",
                "date_paid_gmt": "2026-01-15T10:31:00",
                "date_completed_gmt": None,
            }
        ],
    )
    row = order_rows(query, store.id)[5]
    assert (row["wc_customer_id"], row["email_hash"], row["billing_country"]) == (
        None,
        sha256_hex("ann@example.com"),
        "FR",
    )  # customer_id 0: a guest
    assert (row["created_at"], row["updated_at"], row["paid_at"], row["completed_at"]) == (
        datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        datetime(2026, 1, 15, 11, tzinfo=UTC),
        datetime(2026, 1, 15, 10, 31, tzinfo=UTC),
        None,
    )


def test_resyncing_an_order_replaces_its_items(store, sync_sql, query):
    def line(product, quantity):
        return {"product_id": product, "quantity": quantity, "total": f"{quantity}.00"}

    sync_sql(
        "orders",
        store.id,
        [
            {"id": 1, "status": "pending", "line_items": [line(10, 1), line(11, 2), line(12, 3)]},
            {"id": 2, "status": "pending", "line_items": [line(10, 9)]},
        ],
    )
    sync_sql("orders", store.id, [{"id": 1, "status": "processing", "line_items": [line(12, 4)]}])
    assert items(query, store.id) == {1: [(12, None, 4, Decimal(4))], 2: [(10, None, 9, Decimal(9))]}

    sync_sql("orders", store.id, [{"id": 1, "status": "processing", "line_items": [line(13, 1), line(14, 1)]}])
    sync_sql("orders", store.id, [{"id": 2, "status": "processing"}])  # no line_items: none
    assert items(query, store.id) == {1: [(13, None, 1, Decimal(1)), (14, None, 1, Decimal(1))]}


def test_a_stale_order_leaves_the_order_and_its_items(store, sync_sql, query):
    sync_sql(
        "orders",
        store.id,
        [
            {
                "id": 1,
                "status": "completed",
                "updated_at": "2026-01-15T10:00:00Z",
                "line_items": [{"product_id": 10, "quantity": 1}],
            }
        ],
    )
    before = order_rows(query, store.id), items(query, store.id)
    result = sync_sql(
        "orders",
        store.id,
        [
            {
                "id": 1,
                "status": "processing",
                "updated_at": "2026-01-15T09:00:00Z",
                "line_items": [{"product_id": 11, "quantity": 5}],
            }
        ],
    )
    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    assert (order_rows(query, store.id), items(query, store.id)) == before


def test_within_a_batch_the_newest_order_wins_with_its_items(store, sync_sql, query):
    result = sync_sql(
        "orders",
        store.id,
        [
            {
                "id": 1,
                "status": "completed",
                "updated_at": "2026-03-01T00:00:00Z",
                "line_items": [{"product_id": 10, "quantity": 3}],
            },
            {
                "id": 1,
                "status": "processing",
                "updated_at": "2026-01-01T00:00:00Z",
                "line_items": [{"product_id": 11, "quantity": 1}],
            },
        ],
    )
    assert (result["synced_count"], result["skipped_count"]) == (2, 0)
    assert order_rows(query, store.id)[1]["status"] == "completed"
    assert items(query, store.id) == {1: [(10, None, 3, None)]}


# --- References, whichever arrives first ----------------------------------------------------------


def test_items_resolve_to_products_that_came_first_or_come_later(store, sync_sql, query):
    sync_sql("products", store.id, [{"id": 10, "name": "early"}])
    sync_sql(
        "orders",
        store.id,
        [
            {
                "id": 1,
                "status": "completed",
                "line_items": [
                    {"product_id": 10, "quantity": 1},
                    {"product_id": 11, "quantity": 2},
                    {"product_id": 0, "quantity": 1},
                ],
            }
        ],
    )
    early = key_of(query, "products", "wc_product_id", store.id, 10)
    assert items(query, store.id) == {1: [(10, early, 1, None), (11, None, 2, None), (None, None, 1, None)]}

    sync_sql("products", store.id, [{"id": 11, "name": "late"}])
    late = key_of(query, "products", "wc_product_id", store.id, 11)
    assert items(query, store.id) == {1: [(10, early, 1, None), (11, late, 2, None), (None, None, 1, None)]}

    sync_sql("products", store.id, [{"id": 11, "name": "late, again"}])  # re-sent: still resolved
    assert items(query, store.id)[1][1] == (11, late, 2, None)


def test_orders_resolve_to_customers_that_came_first_or_come_later(store, sync_sql, query):
    sync_sql("customers", store.id, [{"id": 42, "email": "a@example.com"}])
    sync_sql(
        "orders",
        store.id,
        [
            {"id": 1, "status": "completed", "customer_id": 42},
            {"id": 2, "status": "completed", "customer_id": 43},
            {"id": 3, "status": "completed", "customer_id": 0},
        ],
    )
    orders = order_rows(query, store.id)
    assert [(orders[n]["wc_customer_id"], orders[n]["customer_id"]) for n in (1, 2, 3)] == [
        (42, key_of(query, "customers", "wc_customer_id", store.id, 42)),
        (43, None),
        (None, None),
    ]

    sync_sql("customers", store.id, [{"id": 43}])
    assert order_rows(query, store.id)[2]["customer_id"] == key_of(query, "customers", "wc_customer_id", store.id, 43)


def test_references_never_resolve_to_another_stores_rows(make_store, sync_sql, query):
    store_a, store_b = make_store("A"), make_store("B")
    sync_sql("products", store_b.id, [{"id": 10, "name": "B's"}])
    sync_sql("customers", store_b.id, [{"id": 42}])
    sync_sql(
        "orders",
        store_a.id,
        [{"id": 1, "status": "completed", "customer_id": 42, "line_items": [{"product_id": 10, "quantity": 1}]}],
    )
    sync_sql("products", store_b.id, [{"id": 10, "name": "B's again"}])
    sync_sql("customers", store_b.id, [{"id": 42, "display_name": "B's again"}])

    assert order_rows(query, store_a.id)[1]["customer_id"] is None
    assert items(query, store_a.id) == {1: [(10, None, 1, None)]}


# --- Customers as WooCommerce v3 sends them ------------------------------------------------------


def test_a_v3_customer_gets_a_display_name_without_the_last_name(store, sync_sql, query):
    sync_sql(
        "customers",
        store.id,
        [
            {"id": 1, "first_name": "John", "last_name": "doe", "username": "john.doe"},
            {"id": 2, "first_name": " Mary Ann ", "last_name": ""},
            {"id": 3, "first_name": "", "last_name": "Smith", "username": "jay@example.com"},
            {"id": 4, "first_name": "  ", "username": "ann_lee"},
            {"id": 5, "last_name": "Smith"},
            {"id": 6, "display_name": "Chosen", "first_name": "John", "last_name": "Doe"},
            {"id": 7, "username": "@odd"},
        ],
    )
    names = {row["wc_customer_id"]: row["display_name"] for row in rows(query, "customers", store.id)}
    assert names == {1: "John D.", 2: "Mary Ann", 3: "jay", 4: "ann", 5: None, 6: "Chosen", 7: None}
    assert not query("SELECT 1 FROM customers WHERE store_id = %s AND display_name ~* 'doe|smith|lee'", (store.id,))

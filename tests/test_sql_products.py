"""upsert_products (sql/upsert_products.sql), called directly as from psql.

What is particular to products: every field stored as sent, WooCommerce's
own names, the primary category resolved by its WooCommerce id whatever the
order things arrive in, all of a product's categories in
product_categories, updated_at guarding against stale retries, prices as
numeric strings, and records an operator may get wrong. The batch contract
shared with the other entities (logs, counts, rollback) is in
test_sql_sync_logs.py.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.batch.entities import ENTITIES
from service.batch.validation import validate_batch

from sql_helpers import (
    assert_failed_batch,
    failing_trigger,
    last_sync_at,
    rows,
    sync_log,
    sync_logs,
)

UTC = UTC


def product_rows(query, store_id):
    return {row["wc_product_id"]: row for row in rows(query, "products", store_id)}


def links(query, store_id):
    """{wc_product_id: [wc_category_id, ...] in position order}, and every primary (position 0) checked."""
    found = query(
        """
        SELECT p.wc_product_id, pc.wc_category_id, pc.position
          FROM product_categories pc
          JOIN products p ON p.store_id = pc.store_id AND p.id = pc.product_id
         WHERE pc.store_id = %s
         ORDER BY p.wc_product_id, pc.position""",
        (store_id,),
    )
    result = {}
    for row in found:
        result.setdefault(row["wc_product_id"], []).append(row["wc_category_id"])
    primaries = {row["wc_product_id"]: row["wc_category_id"] for row in found if row["position"] == 0}
    return result, primaries


def category_key(query, store_id, wc_category_id):
    [row] = query("SELECT id FROM categories WHERE store_id = %s AND wc_category_id = %s", (store_id, wc_category_id))
    return row["id"]


def test_every_field_is_stored_as_sent(store, sync_sql, query):
    record = {
        "wc_product_id": 501,
        "name": "Blue Widget",
        "sku": "BW-001",
        "price": 24.99,
        "regular_price": "29.99",
        "sale_price": "",
        "category_id": 10,
        "category_name": "Widgets",
        "stock_quantity": -3,
        "stock_status": "onbackorder",
        "status": "publish",
        "type": "simple",
        "created_at": "2026-01-01T08:00:00Z",
        "updated_at": "2026-01-15T10:30:00+05:30",
        "unknown_field": "ignored",
    }
    result = sync_sql("products", store.id, [record])

    assert (result["status"], result["synced_count"]) == ("completed", 1)
    row = product_rows(query, store.id)[501]
    assert {field: row[field] for field in record if field in row} == {
        "wc_product_id": 501,
        "name": "Blue Widget",
        "sku": "BW-001",
        "price": Decimal("24.99"),
        "regular_price": Decimal("29.99"),
        "sale_price": None,
        "category_id": None,
        "category_name": "Widgets",
        "stock_quantity": -3,
        "stock_status": "onbackorder",
        "status": "publish",
        "type": "simple",
        "created_at": datetime(2026, 1, 1, 8, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 15, 5, 0, tzinfo=UTC),
    }
    assert row["wc_category_id"] == 10 and row["wc_category_ids"] == []


def test_woocommerce_field_names_are_read(store, sync_sql, query):
    sync_sql(
        "products",
        store.id,
        [
            {
                "id": 7,
                "name": "WC product",
                "date_created_gmt": "2025-12-01T00:00:00",
                "date_modified_gmt": "2026-01-02T03:04:05",
                "wc_product_id": None,
            }
        ],
    )  # null counts as absent: the alias is read
    row = product_rows(query, store.id)[7]
    assert (row["created_at"], row["updated_at"]) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


# --- Categories ----------------------------------------------------------------------------------


def test_category_id_is_resolved_when_the_category_came_first(store, sync_sql, query):
    sync_sql("categories", store.id, [{"wc_category_id": 10, "name": "Widgets"}])
    sync_sql(
        "products",
        store.id,
        [{"wc_product_id": 1, "name": "p", "category_id": 10}, {"wc_product_id": 2, "name": "q", "category_id": 99}],
    )  # 99 unknown

    products = product_rows(query, store.id)
    assert (products[1]["wc_category_id"], products[1]["category_id"]) == (10, category_key(query, store.id, 10))
    assert (products[2]["wc_category_id"], products[2]["category_id"]) == (99, None)


def test_category_id_is_resolved_when_the_category_comes_later(store, sync_sql, query):
    sync_sql("products", store.id, [{"wc_product_id": 1, "name": "p", "categories": [{"id": 10}]}])
    assert product_rows(query, store.id)[1]["category_id"] is None

    sync_sql("categories", store.id, [{"wc_category_id": 10, "name": "Widgets"}])
    assert product_rows(query, store.id)[1]["category_id"] == category_key(query, store.id, 10)


def test_categories_list_is_stored_in_order_with_the_first_as_primary(store, sync_sql, query):
    sync_sql("categories", store.id, [{"id": 20, "name": "B"}])
    result = sync_sql(
        "products",
        store.id,
        [
            {
                "id": 1,
                "name": "p",
                "categories": [{"id": 20, "name": "B", "slug": "b"}, {"id": 10, "name": "A", "slug": "a"}, {"id": 30}],
            }
        ],
    )

    assert result["status"] == "completed"
    row = product_rows(query, store.id)[1]
    assert (row["wc_category_id"], row["category_id"], row["category_name"]) == (
        20,
        category_key(query, store.id, 20),
        "B",
    )
    assert row["wc_category_ids"] == [20, 10, 30]
    assert links(query, store.id) == ({1: [20, 10, 30]}, {1: 20})


def test_an_explicit_category_id_is_the_primary_category(store, sync_sql, query):
    sync_sql("products", store.id, [{"id": 1, "name": "p", "category_id": 30, "categories": [{"id": 10}, {"id": 20}]}])
    assert product_rows(query, store.id)[1]["wc_category_id"] == 30
    assert links(query, store.id) == ({1: [30, 10, 20]}, {1: 30})


def test_category_name_is_not_taken_from_a_category_that_is_not_the_primary_one(store, sync_sql, query):
    sync_sql(
        "products",
        store.id,
        [
            {
                "id": 1,
                "name": "p",
                "category_id": 30,
                "categories": [{"id": 10, "name": "Ten"}, {"id": 30, "name": "Thirty"}],
            },
            {"id": 2, "name": "q", "categories": [{"id": 10, "name": "Ten"}]},
        ],
    )
    rows = product_rows(query, store.id)
    assert (rows[1]["wc_category_id"], rows[1]["category_name"]) == (30, None)
    assert (rows[2]["wc_category_id"], rows[2]["category_name"]) == (10, "Ten")


def test_resync_with_fewer_categories_removes_the_stale_links(store, sync_sql, query):
    sync_sql(
        "products",
        store.id,
        [
            {"id": 1, "name": "p", "categories": [{"id": 10}, {"id": 20}, {"id": 30}]},
            {"id": 2, "name": "q", "categories": [{"id": 10}, {"id": 20}]},
        ],
    )
    sync_sql("products", store.id, [{"id": 1, "name": "p", "categories": [{"id": 30}, {"id": 10}]}])
    assert links(query, store.id) == ({1: [30, 10], 2: [10, 20]}, {1: 30, 2: 10})
    assert product_rows(query, store.id)[1]["wc_category_id"] == 30

    sync_sql("products", store.id, [{"id": 2, "name": "q", "categories": []}])
    assert links(query, store.id) == ({1: [30, 10]}, {1: 30})
    assert (
        product_rows(query, store.id)[2]["wc_category_id"],
        product_rows(query, store.id)[2]["wc_category_ids"],
    ) == (None, [])


def test_categories_are_capped_per_product_in_both_layers(store, sync_sql, query):
    """At most max_categories_per_product() items; a longer list skips the product, unread (the
    invalid item past the bound is never reported), in the HTTP layer and in SQL alike."""
    [row] = query("SELECT max_categories_per_product() AS cap")
    cap = row["cap"]
    at_cap = [{"id": n} for n in range(1, cap + 1)]
    records = [
        {"id": 1, "name": "at cap", "categories": at_cap},
        {"id": 2, "name": "over", "categories": at_cap + [{"id": cap + 1}]},
        {"id": 3, "name": "over, invalid past it", "categories": at_cap + [{"id": "x"}]},
    ]
    reason = f"categories: more than {cap} items"
    expected = [{"index": 1, "id": 2, "reason": reason}, {"index": 2, "id": 3, "reason": reason}]

    assert validate_batch(ENTITIES["products"], records).errors == expected
    assert sync_sql("products", store.id, records)["errors"] == expected
    assert list(product_rows(query, store.id)) == [1]
    assert len(links(query, store.id)[0][1]) == cap


def test_a_product_never_resolves_to_another_stores_category(make_store, sync_sql, query):
    store_a, store_b = make_store("A"), make_store("B")
    sync_sql("categories", store_b.id, [{"wc_category_id": 10, "name": "B's"}])
    sync_sql("products", store_a.id, [{"wc_product_id": 1, "name": "A's", "category_id": 10}])
    assert product_rows(query, store_a.id)[1]["category_id"] is None

    sync_sql("categories", store_b.id, [{"wc_category_id": 10, "name": "B's again"}])
    assert product_rows(query, store_a.id)[1]["category_id"] is None

    sync_sql("categories", store_a.id, [{"wc_category_id": 10, "name": "A's"}])
    assert product_rows(query, store_a.id)[1]["category_id"] == category_key(query, store_a.id, 10)
    assert category_key(query, store_a.id, 10) != category_key(query, store_b.id, 10)


# --- updated_at ---------------------------------------------------------------------------------


def test_a_stale_record_leaves_the_row_and_counts_as_unchanged(store, sync_sql, query):
    sync_sql(
        "products",
        store.id,
        [{"id": 1, "name": "new", "price": "5", "updated_at": "2026-01-15T10:00:00Z", "categories": [{"id": 10}]}],
    )
    stored, stored_links = product_rows(query, store.id)[1], links(query, store.id)

    result = sync_sql(
        "products",
        store.id,
        [
            {"id": 1, "name": "old", "price": "4", "updated_at": "2026-01-15T09:59:59Z", "categories": [{"id": 20}]},
            {"id": 2, "name": "other"},
        ],
    )

    assert (result["synced_count"], result["unchanged_count"], result["skipped_count"]) == (1, 1, 0)
    assert sync_log(query, store.id, result["sync_log_id"])["records_unchanged"] == 1
    assert product_rows(query, store.id)[1] == stored and links(query, store.id) == stored_links

    # The same or a newer updated_at is written (and a record without one).
    for name, updated_at in [
        ("same", "2026-01-15T10:00:00Z"),
        ("newer", "2026-01-15T11:00:00+00:00"),
        ("undated", None),
    ]:
        result = sync_sql("products", store.id, [{"id": 1, "name": name, "updated_at": updated_at}])
        assert (result["synced_count"], result["unchanged_count"]) == (1, 0)
        assert product_rows(query, store.id)[1]["name"] == name

    # The undated record kept the stored updated_at: an old retry is still refused.
    assert product_rows(query, store.id)[1]["updated_at"] == datetime(2026, 1, 15, 11, tzinfo=UTC)
    result = sync_sql("products", store.id, [{"id": 1, "name": "old", "updated_at": "2026-01-15T10:30:00Z"}])
    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    assert product_rows(query, store.id)[1]["name"] == "undated"


# --- Values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price, stored",
    [
        ("24.99", Decimal("24.99")),
        ("0", Decimal(0)),
        ("007.50", Decimal("7.50")),
        (12, Decimal(12)),
        (0.5, Decimal("0.5")),
        ("", None),
        (None, None),
        ("1000000000000000", Decimal(10**15)),
    ],
    ids=repr,
)
def test_prices_accept_numbers_and_numeric_strings(price, stored, store, sync_sql, query):
    result = sync_sql(
        "products", store.id, [{"id": 1, "name": "p", "price": price, "regular_price": price, "sale_price": price}]
    )
    assert result["errors"] == []
    row = product_rows(query, store.id)[1]
    assert (row["price"], row["regular_price"], row["sale_price"]) == (stored, stored, stored)


@pytest.mark.parametrize(
    "wc_id, reported",
    [
        ("12", "12"),
        (True, None),
        (0, 0),
        (-5, -5),
        (1.5, 1.5),
        (2**63, 2**63),
        ({"id": 1}, None),
        ("x" * 41, None),
    ],
    ids=repr,
)
def test_an_id_that_is_not_a_positive_json_integer_skips_the_product(wc_id, reported, store, sync_sql, query):
    """json_id: a WooCommerce id is a positive JSON integer within bigint; a numeric string is not one."""
    result = sync_sql("products", store.id, [{"wc_product_id": wc_id, "name": "p"}, {"id": 3, "name": "ok"}])
    assert result["errors"] == [{"index": 0, "id": reported, "reason": "wc_product_id: must be a positive integer"}]
    assert list(product_rows(query, store.id)) == [3]


# --- Rollback across the statement's parts ------------------------------------------------------


def test_a_failure_writing_category_links_undoes_the_products(store, sync_sql, query):
    """The product upsert and its links are one statement: a failing link write undoes the product rows too."""
    sync_sql("products", store.id, [{"id": 1, "name": "before", "categories": [{"id": 10}]}])
    stored, stored_links = product_rows(query, store.id), links(query, store.id)
    synced_at = last_sync_at(query, store.id)

    with failing_trigger(query, "product_categories", store.id, condition="NEW.wc_category_id = 20"):
        result = sync_sql(
            "products", store.id, [{"id": 1, "name": "after", "categories": [{"id": 20}]}, {"id": 2, "name": "new"}]
        )

    assert_failed_batch(query, store.id, result, received=2, message="injected failure on product_categories")
    assert product_rows(query, store.id) == stored and links(query, store.id) == stored_links
    assert last_sync_at(query, store.id) == synced_at
    assert [log["status"] for log in sync_logs(query, store.id)] == ["completed", "failed"]

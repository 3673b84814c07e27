"""The spec's integration plan (section 9) for the four sync routes, over real HTTP and PostgreSQL.

For products, customers, categories and orders: a valid batch, an empty batch, a
missing or non-array entity field, a database error (caused by a trigger)
rolling the whole batch back; then skipped records and their report,
WooCommerce REST v3 shapes, stale and duplicate records, references that
arrive before what they point to, and customer emails kept only as hashes.
"""

import hashlib
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from psycopg2 import sql

from service.batch.entities import ENTITIES

from http_helpers import record, stored
from sql_helpers import failing_trigger

RESPONSE_KEYS = {"syncedCount", "skippedCount", "unchangedCount", "syncLogId", "errors", "errorsTruncated"}
TIMESTAMPED = ["products", "customers"]  # categories carry no updated_at


async def sync(post, store, entity, records, status=200):
    """Posts a batch; asserts the status; returns the response body."""
    response = await post(f"/api/sync/{entity}", {entity: records}, store.token)
    assert response.code == status, response.body
    return json.loads(response.body)


async def sync_ok(post, store, entity, records):
    body = await sync(post, store, entity, records)
    assert body["success"] is True and set(body["data"]) == RESPONSE_KEYS, body
    return body["data"]


def sync_logs(query, store_id):
    return query("SELECT * FROM sync_logs WHERE store_id = %s ORDER BY started_at", (store_id,))


def last_sync_at(query, store_id):
    return query("SELECT last_sync_at FROM stores WHERE id = %s", (store_id,))[0]["last_sync_at"]


def assert_error(body, code):
    assert body["success"] is False and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["message"]


@pytest.mark.gen_test
async def test_unexpected_database_error_is_a_500_that_leaks_nothing(post, store, query, caplog):
    """The batch's sync log cannot even be started: 500, with no SQL in the response or the logs."""
    caplog.set_level(logging.DEBUG)
    with failing_trigger(query, "sync_logs", store.id):
        response = await post("/api/sync/products", {"products": [record("products", 1, "one")]}, store.token)

    assert response.code == 500
    assert assert_error(json.loads(response.body), "internal_error") == "Internal server error."
    assert "injected" not in response.body.decode() and "injected" not in caplog.text
    assert "RaiseException" in caplog.text  # the class is logged, for the operator
    assert stored(query, "products", store.id) == {} and sync_logs(query, store.id) == []


# --- The spec's plan, for each entity ---


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_valid_batch_is_stored_and_logged(post, store, query, entity):
    assert last_sync_at(query, store.id) is None
    data = await sync_ok(post, store, entity, [record(entity, 1, "one"), record(entity, 2, "two")])

    assert data == {
        "syncedCount": 2,
        "skippedCount": 0,
        "unchangedCount": 0,
        "syncLogId": data["syncLogId"],
        "errors": [],
        "errorsTruncated": False,
    }
    assert stored(query, entity, store.id) == {1: "one", 2: "two"}
    [log] = sync_logs(query, store.id)
    assert str(log["id"]) == data["syncLogId"]
    assert (
        log["entity_type"],
        log["status"],
        log["records_received"],
        log["records_synced"],
        log["records_skipped"],
        log["records_unchanged"],
        log["error_message"],
    ) == (entity, "completed", 2, 2, 0, 0, None)
    assert log["started_at"] <= log["completed_at"]
    assert log["started_at"] <= last_sync_at(query, store.id) <= log["completed_at"]  # set by this batch


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_empty_batch_succeeds_with_nothing_synced(post, store, query, entity):
    data = await sync_ok(post, store, entity, [])

    assert (data["syncedCount"], data["skippedCount"], data["unchangedCount"], data["errors"]) == (0, 0, 0, [])
    assert stored(query, entity, store.id) == {}
    [log] = sync_logs(query, store.id)
    assert (str(log["id"]), log["status"], log["records_received"], log["records_synced"]) == (
        data["syncLogId"],
        "completed",
        0,
        0,
    )


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("body", [{}, {"items": []}, {"Products": [], "customer": [], "category": []}])
@pytest.mark.gen_test
async def test_missing_entity_field_is_400(post, store, query, entity, body):
    response = await post(f"/api/sync/{entity}", body, store.token)

    assert response.code == 400
    assert f"'{entity}' field is required" in assert_error(json.loads(response.body), "bad_request")
    assert sync_logs(query, store.id) == []


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("value", [None, {}, {"0": {"id": 1}}, "[]", 1, True])
@pytest.mark.gen_test
async def test_entity_field_that_is_not_an_array_is_400(post, store, query, entity, value):
    response = await post(f"/api/sync/{entity}", {entity: value}, store.token)

    assert response.code == 400
    assert f"'{entity}' field must be an array" in assert_error(json.loads(response.body), "bad_request")
    assert sync_logs(query, store.id) == []
    assert stored(query, entity, store.id) == {}


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_database_error_is_500_and_rolls_the_whole_batch_back(post, store, query, entity):
    await sync_ok(post, store, entity, [record(entity, 1, "before")])
    synced_before = last_sync_at(query, store.id)

    with failing_trigger(query, entity, store.id):
        response = await post(
            f"/api/sync/{entity}", {entity: [record(entity, 1, "after"), record(entity, 2, "new")]}, store.token
        )

    assert response.code == 500
    body = json.loads(response.body)
    message = assert_error(body, "sync_failed")
    text = response.body.decode().lower()
    for leak in ("injected", "trigger", "traceback", "select", "upsert", "exception", "psycopg", "sql"):
        assert leak not in text, text
    # Nothing of the batch is kept: the updated row has its old value, the new one is absent.
    assert stored(query, entity, store.id) == {1: "before"}
    failed = sync_logs(query, store.id)[-1]
    assert str(failed["id"]) in message  # the client can name the log to an operator
    assert (failed["entity_type"], failed["status"], failed["records_received"], failed["records_synced"]) == (
        entity,
        "failed",
        2,
        0,
    )
    assert "injected failure on" in failed["error_message"]
    assert failed["completed_at"] is not None
    assert last_sync_at(query, store.id) == synced_before
    # The trigger is gone and the store syncs again.
    await sync_ok(post, store, entity, [record(entity, 1, "after")])
    assert stored(query, entity, store.id) == {1: "after"}


# --- Skipped records and their report ---


def invalid_records(entity):
    """(record, expected {id, reason}) pairs that every entity's HTTP layer skips."""
    id_field = ENTITIES[entity].id_field
    return [
        ({ENTITIES[entity].value_field: "no id"}, {"id": None, "reason": f"{id_field}: required field"}),
        (record(entity, "abc"), {"id": "abc", "reason": f"{id_field}: must be a positive integer"}),
        (42, {"id": None, "reason": "record: must be a JSON object"}),
        (record(entity, -3), {"id": -3, "reason": f"{id_field}: must be a positive integer"}),
    ]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_invalid_records_are_skipped_and_reported_in_batch_order(post, store, query, entity):
    bad = invalid_records(entity)
    batch = (
        [record(entity, 1, "first")]
        + [r for r, _ in bad[:2]]
        + [record(entity, 2, "second")]
        + [r for r, _ in bad[2:]]
        + [record(entity, 3, "third")]
    )

    data = await sync_ok(post, store, entity, batch)

    assert data["errors"] == [
        {"index": index, **expected} for index, expected in zip([1, 2, 4, 5], [e for _, e in bad])
    ]
    assert (data["syncedCount"], data["skippedCount"], data["unchangedCount"], data["errorsTruncated"]) == (
        3,
        4,
        0,
        False,
    )
    assert stored(query, entity, store.id) == {1: "first", 2: "second", 3: "third"}
    [log] = sync_logs(query, store.id)
    assert (log["records_received"], log["records_synced"], log["records_skipped"]) == (7, 3, 4)


@pytest.mark.gen_test
async def test_category_item_names_are_checked_like_any_text(post, store, query):
    # The first item's name may become the product's category_name.
    batch = [
        record("products", 1, "first"),
        {"wc_product_id": 2, "name": "by sql", "categories": [{"id": 5, "name": 123}]},
        record("products", 3, ""),  # skipped by the HTTP layer
        {"wc_product_id": 4, "name": "by sql too", "categories": [{"id": 5, "name": "x" * 1001}]},
        record("products", 5, "last"),
    ]
    data = await sync_ok(post, store, "products", batch)

    assert data["errors"] == [
        {"index": 1, "id": 2, "reason": "categories: every item's name must be a string of at most 1000 characters"},
        {"index": 2, "id": 3, "reason": "name: must not be empty"},
        {"index": 3, "id": 4, "reason": "categories: every item's name must be a string of at most 1000 characters"},
    ]
    assert (data["syncedCount"], data["skippedCount"]) == (2, 3)
    assert stored(query, "products", store.id) == {1: "first", 5: "last"}
    [log] = sync_logs(query, store.id)
    assert (log["records_received"], log["records_synced"], log["records_skipped"]) == (5, 2, 3)


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_more_than_100_skipped_records_are_counted_but_100_listed(post, store, query, entity):
    batch = [record(entity, 1, "kept")] + [record(entity, -n) for n in range(1, 151)] + [record(entity, 2, "kept")]

    data = await sync_ok(post, store, entity, batch)

    assert (data["syncedCount"], data["skippedCount"], data["errorsTruncated"]) == (2, 150, True)
    assert [error["index"] for error in data["errors"]] == list(range(1, 101))
    assert [error["id"] for error in data["errors"]] == [-n for n in range(1, 101)]
    assert stored(query, entity, store.id) == {1: "kept", 2: "kept"}
    assert sync_logs(query, store.id)[0]["records_skipped"] == 150


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_exactly_100_skipped_records_are_not_truncated(post, store, entity):
    data = await sync_ok(post, store, entity, [record(entity, -n) for n in range(1, 101)])
    assert (len(data["errors"]), data["skippedCount"], data["errorsTruncated"]) == (100, 100, False)


# --- WooCommerce REST v3 shapes ---


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.gen_test
async def test_woocommerce_product_shape(post, store, query):
    await sync_ok(post, store, "categories", [{"id": 10, "name": "Widgets"}, {"id": 11, "name": "Blue"}])
    data = await sync_ok(
        post,
        store,
        "products",
        [
            {
                "id": 501,
                "name": "Blue Widget",
                "sku": "BW-001",
                "price": "24.99",
                "regular_price": "29.99",
                "sale_price": "",
                "stock_quantity": -2,
                "stock_status": "onbackorder",
                "status": "publish",
                "type": "simple",
                "categories": [
                    {"id": 10, "name": "Widgets", "slug": "widgets"},
                    {"id": 11, "name": "Blue", "slug": "blue"},
                ],
                "date_created_gmt": "2026-01-01T00:00:00",
                "date_modified_gmt": "2026-01-15T10:30:00",
                "images": [{"src": "https://example.com/a.png"}],
                "meta_data": [],
            }
        ],
    )
    assert data["syncedCount"] == 1, data

    [row] = query("SELECT * FROM products WHERE store_id = %s", (store.id,))
    category_ids = {
        r["wc_category_id"]: r["id"]
        for r in query("SELECT wc_category_id, id FROM categories WHERE store_id = %s", (store.id,))
    }
    assert (row["wc_product_id"], row["name"], row["sku"]) == (501, "Blue Widget", "BW-001")
    assert (row["price"], row["regular_price"], row["sale_price"]) == (Decimal("24.99"), Decimal("29.99"), None)
    assert (row["wc_category_id"], row["category_id"], row["category_name"]) == (10, category_ids[10], "Widgets")
    assert row["wc_category_ids"] == [10, 11]
    assert (row["stock_quantity"], row["stock_status"], row["status"], row["type"]) == (
        -2,
        "onbackorder",
        "publish",
        "simple",
    )
    assert row["created_at"] == utc(2026, 1, 1)  # naive *_gmt is UTC
    assert row["updated_at"] == utc(2026, 1, 15, 10, 30)
    links = query(
        "SELECT wc_category_id FROM product_categories WHERE store_id = %s AND product_id = %s ORDER BY position",
        (store.id, row["id"]),
    )
    assert [link["wc_category_id"] for link in links] == [10, 11]  # the primary first


@pytest.mark.gen_test
async def test_product_categories_follow_the_latest_sync(post, store, query):
    await sync_ok(post, store, "products", [{"id": 1, "name": "p", "categories": [{"id": 10}, {"id": 11}]}])
    await sync_ok(post, store, "products", [{"id": 1, "name": "p", "categories": [{"id": 12}, {"id": 10}]}])

    [row] = query("SELECT id, wc_category_id FROM products WHERE store_id = %s", (store.id,))
    assert row["wc_category_id"] == 12
    links = query(
        "SELECT wc_category_id FROM product_categories WHERE store_id = %s AND product_id = %s ORDER BY position",
        (store.id, row["id"]),
    )
    assert [link["wc_category_id"] for link in links] == [12, 10]


@pytest.mark.gen_test
async def test_woocommerce_category_shape(post, store, query):
    data = await sync_ok(
        post,
        store,
        "categories",
        [
            {"id": 20, "name": "Clothing", "slug": "clothing", "parent": 0, "count": 3, "display": "default"},
            {"id": 21, "name": "Shirts", "slug": "shirts", "parent": 20, "count": 1},
        ],
    )
    assert data["syncedCount"] == 2, data

    rows = {r["wc_category_id"]: r for r in query("SELECT * FROM categories WHERE store_id = %s", (store.id,))}
    assert (
        rows[20]["name"],
        rows[20]["slug"],
        rows[20]["wc_parent_id"],
        rows[20]["parent_id"],
        rows[20]["product_count"],
    ) == ("Clothing", "clothing", None, None, 3)
    assert (rows[21]["wc_parent_id"], rows[21]["parent_id"], rows[21]["product_count"]) == (20, rows[20]["id"], 1)


@pytest.mark.gen_test
async def test_woocommerce_customer_shape(post, store, query):
    data = await sync_ok(
        post,
        store,
        "customers",
        [
            {
                "id": 42,
                "email": "John@Example.com",
                "first_name": "John",
                "username": "john",
                "display_name": "John D.",
                "total_spent": "499.95",
                "order_count": 5,
                "first_order_date": "2025-06-01T00:00:00+02:00",
                "last_order_date": "2026-01-15",
                "date_created_gmt": "2025-05-20T00:00:00",
                "date_modified_gmt": "2026-01-15T10:30:00",
                "billing": {"email": "John@Example.com"},
            }
        ],
    )
    assert data["syncedCount"] == 1, data

    [row] = query("SELECT * FROM customers WHERE store_id = %s", (store.id,))
    assert (row["wc_customer_id"], row["display_name"], row["total_spent"], row["order_count"]) == (
        42,
        "John D.",
        Decimal("499.95"),
        5,
    )
    assert row["email_hash"] == hashlib.sha256(b"john@example.com").hexdigest()
    assert row["first_order_date"] == utc(2025, 5, 31, 22)
    assert row["last_order_date"] == utc(2026, 1, 15)
    assert (row["created_at"], row["updated_at"]) == (utc(2025, 5, 20), utc(2026, 1, 15, 10, 30))


# --- Stale and duplicate records ---


@pytest.mark.parametrize("entity", TIMESTAMPED)
@pytest.mark.parametrize(
    "newer, older",
    [
        ({"updated_at": "2026-01-15T10:30:00Z"}, {"updated_at": "2026-01-15T10:29:59Z"}),
        ({"date_modified_gmt": "2026-01-15T10:30:00"}, {"date_modified_gmt": "2026-01-14T23:00:00"}),
        ({"updated_at": "2026-01-15T10:30:00Z"}, {"updated_at": "2026-01-15T12:00:00+05:00"}),  # 07:00 UTC
    ],
)
@pytest.mark.gen_test
async def test_an_older_record_leaves_the_row_unchanged(post, store, query, entity, newer, older):
    await sync_ok(post, store, entity, [record(entity, 1, "newer", **newer)])

    data = await sync_ok(post, store, entity, [record(entity, 1, "older", **older), record(entity, 2, "other")])

    assert (data["syncedCount"], data["unchangedCount"], data["skippedCount"], data["errors"]) == (1, 1, 0, [])
    assert stored(query, entity, store.id) == {1: "newer", 2: "other"}
    log = sync_logs(query, store.id)[-1]
    assert (log["records_synced"], log["records_unchanged"], log["records_skipped"]) == (1, 1, 0)


@pytest.mark.parametrize("entity", TIMESTAMPED)
@pytest.mark.gen_test
async def test_a_newer_record_replaces_the_row(post, store, query, entity):
    await sync_ok(post, store, entity, [record(entity, 1, "old", updated_at="2026-01-15T10:30:00Z")])
    data = await sync_ok(post, store, entity, [record(entity, 1, "new", updated_at="2026-01-15T10:30:01Z")])
    assert (data["syncedCount"], data["unchangedCount"]) == (1, 0)
    assert stored(query, entity, store.id) == {1: "new"}


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_the_last_occurrence_of_an_id_in_a_batch_wins(post, store, query, entity):
    batch = [record(entity, 1, "first"), record(entity, 2, "other"), record(entity, 1, "second")]

    data = await sync_ok(post, store, entity, batch)

    assert (data["syncedCount"], data["skippedCount"], data["unchangedCount"]) == (3, 0, 0)
    assert stored(query, entity, store.id) == {1: "second", 2: "other"}


@pytest.mark.parametrize("entity", TIMESTAMPED)
@pytest.mark.gen_test
async def test_within_a_batch_the_newest_updated_at_wins(post, store, query, entity):
    batch = [
        record(entity, 5004, "march", updated_at="2026-03-01T00:00:00Z"),
        record(entity, 5004, "january", date_modified_gmt="2026-01-01T00:00:00"),
    ]

    data = await sync_ok(post, store, entity, batch)

    assert (data["syncedCount"], data["skippedCount"], data["unchangedCount"]) == (2, 0, 0)
    assert stored(query, entity, store.id) == {5004: "march"}
    [row] = query(sql.SQL("SELECT updated_at FROM {} WHERE store_id = %s").format(sql.Identifier(entity)), (store.id,))
    assert row["updated_at"] == utc(2026, 3, 1)


# --- References that arrive before what they point to ---


def internal_ids(query, store_id):
    return {
        r["wc_category_id"]: r["id"]
        for r in query("SELECT wc_category_id, id FROM categories WHERE store_id = %s", (store_id,))
    }


@pytest.mark.gen_test
async def test_product_synced_before_its_category_is_resolved_when_it_arrives(post, store, query):
    await sync_ok(
        post,
        store,
        "products",
        [
            {"wc_product_id": 1, "name": "flat", "category_id": 10},
            {"id": 2, "name": "woo", "categories": [{"id": 10, "name": "Widgets", "slug": "widgets"}]},
            {"wc_product_id": 3, "name": "elsewhere", "category_id": 99},
        ],
    )
    rows = query("SELECT wc_category_id, category_id FROM products WHERE store_id = %s", (store.id,))
    assert sorted((r["wc_category_id"], r["category_id"]) for r in rows) == [(10, None), (10, None), (99, None)]

    await sync_ok(post, store, "categories", [{"wc_category_id": 10, "name": "Widgets"}])

    rows = query("SELECT wc_product_id, category_id FROM products WHERE store_id = %s", (store.id,))
    widgets = internal_ids(query, store.id)[10]
    assert {r["wc_product_id"]: r["category_id"] for r in rows} == {1: widgets, 2: widgets, 3: None}


@pytest.mark.gen_test
async def test_child_category_synced_before_its_parent_is_resolved_when_it_arrives(post, store, query):
    await sync_ok(
        post,
        store,
        "categories",
        [{"wc_category_id": 21, "name": "Shirts", "parent_id": 20}, {"id": 22, "name": "Hats", "parent": 20}],
    )
    rows = query("SELECT wc_parent_id, parent_id FROM categories WHERE store_id = %s", (store.id,))
    assert [(r["wc_parent_id"], r["parent_id"]) for r in rows] == [(20, None), (20, None)]

    await sync_ok(post, store, "categories", [{"wc_category_id": 20, "name": "Clothing"}])

    ids = internal_ids(query, store.id)
    rows = query("SELECT wc_category_id, parent_id FROM categories WHERE store_id = %s", (store.id,))
    assert {r["wc_category_id"]: r["parent_id"] for r in rows} == {20: None, 21: ids[20], 22: ids[20]}


# --- Customer emails ---


def text_columns(query):
    return query("""
        SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = 'public'
           AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
    """)


@pytest.mark.gen_test
async def test_customer_email_is_stored_only_as_its_hash(post, store, query):
    email = "  Jane.Roe+Shop@Example.COM "
    data = await sync_ok(post, store, "customers", [{"wc_customer_id": 7, "email": email, "display_name": "J"}])
    assert data["syncedCount"] == 1

    [row] = query("SELECT email_hash FROM customers WHERE store_id = %s", (store.id,))
    assert row["email_hash"] == hashlib.sha256(b"jane.roe+shop@example.com").hexdigest()
    columns = text_columns(query)
    assert ("customers", "email_hash") in {(c["table_name"], c["column_name"]) for c in columns}
    for column in columns:
        hits = query(
            sql.SQL("SELECT count(*) AS n FROM {} WHERE {}::text ILIKE %s").format(
                sql.Identifier(column["table_name"]), sql.Identifier(column["column_name"])
            ),
            ("%jane.roe%",),
        )
        assert hits == [{"n": 0}], column


@pytest.mark.parametrize("fields", [{}, {"email": None}, {"email": ""}, {"email": "   "}])
@pytest.mark.gen_test
async def test_customer_without_email_has_no_hash(post, store, query, fields):
    data = await sync_ok(post, store, "customers", [{"wc_customer_id": 8, **fields}])
    assert data["syncedCount"] == 1, data
    assert query("SELECT email_hash FROM customers WHERE store_id = %s", (store.id,)) == [{"email_hash": None}]


@pytest.mark.gen_test
async def test_a_new_email_replaces_the_hash_and_a_removed_one_clears_it(post, store, query):
    await sync_ok(post, store, "customers", [{"wc_customer_id": 9, "email": "a@example.com"}])
    await sync_ok(post, store, "customers", [{"wc_customer_id": 9, "email": "b@example.com"}])
    assert query("SELECT email_hash FROM customers WHERE store_id = %s", (store.id,)) == [
        {"email_hash": hashlib.sha256(b"b@example.com").hexdigest()}
    ]
    await sync_ok(post, store, "customers", [{"wc_customer_id": 9}])
    assert query("SELECT email_hash FROM customers WHERE store_id = %s", (store.id,)) == [{"email_hash": None}]

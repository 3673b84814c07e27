"""Unit tests of the validation path: projection, Cerberus schemas, serialisation."""

import asyncio
import json
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.batch import checks
from service.batch.entities import CATEGORIES, CUSTOMERS, ENTITIES, ORDERS, PRODUCTS
from service.batch.validation import (
    describe,
    merge_errors,
    project,
    reported_id,
    serialise,
    validate_batch,
    validate_batch_yielding,
    validator_for,
)

SPEC_EXAMPLES = {
    "products": {
        "wc_product_id": 501,
        "name": "Blue Widget",
        "sku": "BW-001",
        "price": 24.99,
        "regular_price": 29.99,
        "sale_price": 24.99,
        "category_id": 10,
        "category_name": "Widgets",
        "stock_quantity": 50,
        "stock_status": "instock",
        "status": "publish",
        "type": "simple",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-15T10:30:00Z",
    },
    "customers": {
        "wc_customer_id": 42,
        "email": "john@example.com",
        "display_name": "John D.",
        "total_spent": 499.95,
        "order_count": 5,
        "first_order_date": "2025-06-01T00:00:00Z",
        "last_order_date": "2026-01-15T10:30:00Z",
        "created_at": "2025-05-20T00:00:00Z",
    },
    "categories": {"wc_category_id": 10, "name": "Widgets", "parent_id": None, "product_count": 25},
    "orders": {
        "wc_order_id": 1001,
        "status": "completed",
        "currency": "EUR",
        "total": "54.97",
        "subtotal": "49.98",
        "total_tax": "0.00",
        "shipping_total": "4.99",
        "discount_total": "0.00",
        "customer_id": 42,
        "email": "john@example.com",
        "billing_country": "DE",
        "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-01-16T08:00:00Z",
        "paid_at": "2026-01-15T10:31:00Z",
        "completed_at": "2026-01-16T08:00:00Z",
        "line_items": [
            {
                "id": 1,
                "product_id": 501,
                "variation_id": 0,
                "quantity": 2,
                "subtotal": "49.98",
                "total": "49.98",
                "price": 24.99,
                "sku": "BW-001",
                "name": "Blue Widget",
            }
        ],
    },
}


def check(entity, record):
    """The reason a single record is skipped, or None when it is valid."""
    batch = validate_batch(entity, [record])
    return batch.errors[0]["reason"] if batch.errors else None


@pytest.mark.parametrize("name", ENTITIES)
def test_spec_examples_are_valid(name):
    batch = validate_batch(ENTITIES[name], [SPEC_EXAMPLES[name]])
    assert batch.errors == []
    assert batch.indexes == [0]
    sent = json.loads(batch.records_json)[0]
    expected = {k: v for k, v in SPEC_EXAMPLES[name].items() if v is not None}
    assert sent == expected


@pytest.mark.parametrize("entity", [PRODUCTS, CUSTOMERS, CATEGORIES])
def test_woocommerce_id_is_read_when_wc_id_is_absent(entity):
    doc = project({"id": 7, "name": "x"}, entity)
    assert doc[entity.id_field] == 7
    assert "id" not in doc


def test_wc_id_wins_over_woocommerce_id():
    assert project({"wc_product_id": 1, "id": 2, "name": "x"}, PRODUCTS)["wc_product_id"] == 1


def test_projection_drops_unknown_fields_and_nulls():
    doc = project({"wc_product_id": 1, "name": "x", "description": "<p>long html</p>", "sku": None}, PRODUCTS)
    assert doc == {"wc_product_id": 1, "name": "x"}


def test_woocommerce_aliases():
    doc = project({"id": 3, "name": "c", "parent": 0, "count": 4}, CATEGORIES)
    assert doc == {"wc_category_id": 3, "name": "c", "parent_id": 0, "product_count": 4}
    doc = project(
        {"id": 1, "name": "p", "date_created_gmt": "2026-01-01T00:00:00", "date_modified_gmt": "2026-01-02T00:00:00"},
        PRODUCTS,
    )
    assert doc["created_at"] == "2026-01-01T00:00:00"
    assert doc["updated_at"] == "2026-01-02T00:00:00"


def test_text_that_postgresql_cannot_hold_is_skipped():
    assert check(PRODUCTS, {"wc_product_id": 1, "name": "a\x00b"}) == "text: must not contain NUL characters"
    assert check(PRODUCTS, {"wc_product_id": 1, "name": "a\ud800b"}) == "text: must be valid Unicode"
    # a literal backslash-u0000 is ordinary text, as is any valid Unicode
    assert check(PRODUCTS, {"wc_product_id": 1, "name": "a\\u0000b ünïcødé 😀"}) is None


def test_non_object_records_are_skipped():
    batch = validate_batch(PRODUCTS, [5, None, "x", [], {"wc_product_id": 1, "name": "ok"}])
    assert [e["index"] for e in batch.errors] == [0, 1, 2, 3]
    assert {e["reason"] for e in batch.errors} == {"record: must be a JSON object"}
    assert batch.indexes == [4]


def test_batch_keeps_original_indexes_and_only_valid_records():
    records = [
        {"wc_product_id": 1, "name": "a"},
        {"wc_product_id": 2},
        {"wc_product_id": 3, "name": "c", "unknown": {"nested": "\x00"}},
        {"id": "abc", "name": "d"},
    ]
    batch = validate_batch(PRODUCTS, records)
    assert batch.indexes == [0, 2]
    assert len(batch.indexes) == 2
    assert json.loads(batch.records_json) == [{"wc_product_id": 1, "name": "a"}, {"wc_product_id": 3, "name": "c"}]
    assert batch.errors == [
        {"index": 1, "id": 2, "reason": "name: required field"},
        {"index": 3, "id": "abc", "reason": "wc_product_id: must be a positive integer"},
    ]


def test_empty_batch():
    batch = validate_batch(CUSTOMERS, [])
    assert (batch.records_json, batch.indexes, batch.errors) == (b"[]", [], [])


@pytest.mark.parametrize(
    "value, expected", [(5, 5), ("501", "501"), ("x" * 41, None), (True, None), ([1], None), (None, None)]
)
def test_reported_id(value, expected):
    assert reported_id(value) == expected


def test_describe_joins_the_first_reason_of_each_field():
    assert describe({"b": ["bad", "worse"], "a": ["required field"]}) == "a: required field; b: bad"


def test_one_validator_per_entity():
    assert validator_for(PRODUCTS) is validator_for(PRODUCTS)
    assert validator_for(PRODUCTS) is not validator_for(CUSTOMERS)


def test_serialise_is_compact_and_keeps_unicode():
    assert serialise({"name": "é"}) == ('{"name":"é"}', None)


def test_errors_of_both_layers_are_merged_in_batch_order():
    batch = validate_batch(
        PRODUCTS, [{"id": 1, "name": "a"}, {"id": 2}, {"id": 3, "name": "c"}, {"id": 4, "name": "d"}]
    )
    sql_errors = [{"index": 2, "id": 4, "reason": "r4"}, {"index": 0, "id": 1, "reason": "r1"}]  # indexes of the 3 sent
    assert [(e["index"], e["id"]) for e in merge_errors(batch, sql_errors)] == [(0, 1), (1, 2), (3, 4)]


def test_serialise_writes_decimal_amounts_as_the_exact_json_numbers_sent():
    doc = {"wc_product_id": 1, "price": Decimal("999999999999999.99"), "name": "x", "sale_price": Decimal("1.50E+3")}
    text, reason = serialise(doc)
    assert reason is None
    # the numbers as sent, digit for digit (jsonb does not mind the order of the keys)
    assert sorted(text[1:-1].split(",")) == [
        '"name":"x"',
        '"price":999999999999999.99',
        '"sale_price":1.50E+3',
        '"wc_product_id":1',
    ]
    assert json.loads(text, parse_float=Decimal) == doc


def test_serialise_refuses_a_nested_decimal_too_large_for_a_float():
    """Deeper values are never read by SQL; 1e400 there must not reach PostgreSQL (numeric overflows at 1e131072)."""
    categories = [{"id": 5, "slug": Decimal("1e200000")}]
    assert serialise({"wc_product_id": 1, "categories": categories}) == (None, "number: must be finite")
    assert serialise({"wc_product_id": 1, "categories": [{"id": 5, "slug": Decimal("0.5")}]}) == (
        '{"wc_product_id":1,"categories":[{"id":5,"slug":0.5}]}',
        None,
    )


def test_nested_aliases_read_into_objects_only():
    assert project({"id": 1, "status": "s", "billing": {"email": "a@b.c", "country": "FR"}}, ORDERS) == {
        "wc_order_id": 1,
        "status": "s",
        "email": "a@b.c",
        "billing_country": "FR",
    }
    assert (
        project({"id": 1, "status": "s", "email": "top@b.c", "billing": {"email": "a@b.c"}}, ORDERS)["email"]
        == "top@b.c"
    )
    for billing in (None, "a@b.c", ["a@b.c"], {"email": None}):
        assert "email" not in project({"id": 1, "status": "s", "billing": billing}, ORDERS)


def test_line_items_are_passed_on_with_their_fields_only_and_amounts_exact():
    record = {
        "id": 1,
        "status": "s",
        "line_items": [
            {
                "product_id": 5,
                "quantity": 1,
                "price": Decimal("8.3333333333333333333"),
                "sku": None,
                "meta_data": [{"key": "Gift message", "value": "For Ann"}],
                "taxes": [{"total": Decimal("1e400")}],
            }
        ],
    }
    batch = validate_batch(ORDERS, [record])
    assert (
        batch.records_json
        == b'[{"wc_order_id":1,"status":"s","line_items":[{"product_id":5,"quantity":1,"price":8.3333333333333333333}]}]'
    )


def test_the_first_bad_line_item_is_reported_with_its_first_bad_field():
    items = [{"product_id": 1, "quantity": 1}, {"product_id": -1, "quantity": "x"}, 5]
    assert (
        check(ORDERS, {"id": 1, "status": "s", "line_items": items})
        == "line_items: item 1: product_id: must be between 0 and 9223372036854775807"
    )


@pytest.mark.parametrize(
    "odd",
    [
        None,  # every record written at once
        {"id": 3, "name": "a\x00b"},  # refused: NUL
        {"id": 3, "name": "\ud800"},  # refused: a lone surrogate
        {"id": 3, "name": "x", "price": Decimal("1.50")},  # written exactly, record by record
        {"id": 3, "name": "null"},  # text holding null: record by record
        {"id": 3, "name": "x", "categories": [{"id": 1, "slug": 10**30}]},  # an int past 64 bits
    ],
)
def test_a_batch_is_written_as_its_records_are_one_by_one(odd):
    records = [{"id": 1, "name": "a"}, {"id": 2}, *([odd] if odd else []), {"id": 4, "name": "é"}]
    batch = validate_batch(PRODUCTS, records)
    one_by_one = [validate_batch(PRODUCTS, [record]) for record in records]
    assert batch.records_json == b"[" + b",".join(b.records_json[1:-1] for b in one_by_one if b.indexes) + b"]"
    assert batch.indexes == [index for index, b in enumerate(one_by_one) if b.indexes]
    assert batch.errors == [{**e, "index": index} for index, b in enumerate(one_by_one) for e in b.errors]


def takes_as_iso_8601(text):
    """iso_timestamp()'s check of a text WooCommerce's shape does not match: the format, then the ranges."""
    if not checks.ISO8601.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


@settings(max_examples=1000)
@given(st.from_regex(checks.WOOCOMMERCE_TIMESTAMP, fullmatch=True))
def test_what_the_woocommerce_timestamp_shape_matches_the_general_check_takes(text):
    """iso_timestamp() takes what WooCommerce's shape matches without another look: it must not
    let through anything the general check refuses."""
    assert takes_as_iso_8601(text)


@pytest.mark.parametrize(
    "year", ["0000", "0001", "0004", "0100", "0400", "1900", "2000", "2023", "2024", "2100", "9999"]
)
def test_the_woocommerce_timestamp_shape_matches_every_day_and_time_the_general_check_takes(year):
    """Its ranges are the calendar's (February 29th in leap years only, no year 0) and the clock's,
    so a WooCommerce timestamp is never checked twice."""
    for month in range(14):
        for day in range(33):
            for time in ("00:00:00", "09:30:05", "23:59:59", "24:00:00", "12:60:00", "12:00:60"):
                for zone in ("", "Z"):
                    text = f"{year}-{month:02}-{day:02}T{time}{zone}"
                    assert bool(checks.WOOCOMMERCE_TIMESTAMP.fullmatch(text)) == takes_as_iso_8601(text), text


def test_validating_while_yielding_gives_the_same_batch_and_empties_the_records():
    records = [{"id": n, "name": f"p{n}"} if n % 3 else {"id": n} for n in range(1, 450)]
    expected = validate_batch(PRODUCTS, [dict(record) for record in records])
    batch = asyncio.run(validate_batch_yielding(PRODUCTS, records, chunk=100))
    assert (batch.records_json, batch.indexes, batch.errors) == (
        expected.records_json,
        expected.indexes,
        expected.errors,
    )
    assert records == [None] * 449  # each freed once projected

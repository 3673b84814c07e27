"""Unit tests of the validation path: projection, Cerberus schemas, serialisation."""
import json
from decimal import Decimal

import pytest

from service.entities import CATEGORIES, CUSTOMERS, ENTITIES, ORDERS, PRODUCTS
from service.validation import (describe, merge_errors, project, reported_id, serialise, validate_batch,
                                validator_for)

SPEC_EXAMPLES = {
    "products": {
        "wc_product_id": 501, "name": "Blue Widget", "sku": "BW-001", "price": 24.99,
        "regular_price": 29.99, "sale_price": 24.99, "category_id": 10, "category_name": "Widgets",
        "stock_quantity": 50, "stock_status": "instock", "status": "publish", "type": "simple",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-15T10:30:00Z",
    },
    "customers": {
        "wc_customer_id": 42, "email": "john@example.com", "display_name": "John D.",
        "total_spent": 499.95, "order_count": 5, "first_order_date": "2025-06-01T00:00:00Z",
        "last_order_date": "2026-01-15T10:30:00Z", "created_at": "2025-05-20T00:00:00Z",
    },
    "categories": {"wc_category_id": 10, "name": "Widgets", "parent_id": None, "product_count": 25},
    "orders": {
        "wc_order_id": 1001, "status": "completed", "currency": "EUR", "total": "54.97", "subtotal": "49.98",
        "total_tax": "0.00", "shipping_total": "4.99", "discount_total": "0.00", "customer_id": 42,
        "email": "john@example.com", "billing_country": "DE", "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-01-16T08:00:00Z", "paid_at": "2026-01-15T10:31:00Z",
        "completed_at": "2026-01-16T08:00:00Z",
        "line_items": [{"id": 1, "product_id": 501, "variation_id": 0, "quantity": 2, "subtotal": "49.98",
                        "total": "49.98", "price": 24.99, "sku": "BW-001", "name": "Blue Widget"}],
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
    doc = project({"id": 1, "name": "p", "date_created_gmt": "2026-01-01T00:00:00",
                   "date_modified_gmt": "2026-01-02T00:00:00"}, PRODUCTS)
    assert doc["created_at"] == "2026-01-01T00:00:00"
    assert doc["updated_at"] == "2026-01-02T00:00:00"


@pytest.mark.parametrize("record, reason", [
    ({"name": "x"}, "wc_product_id: required field"),
    ({"wc_product_id": 1}, "name: required field"),
    ({"wc_product_id": True, "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": "1", "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": 1.5, "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": 0, "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": -4, "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": 2**63, "name": "x"}, "wc_product_id: must be a positive integer"),
    ({"wc_product_id": 1, "name": "   "}, "name: must not be empty"),
    ({"wc_product_id": 1, "name": 5}, "name: must be a string"),
    ({"wc_product_id": 1, "name": "x" * 1001}, "name: longer than 1000 characters"),
    ({"wc_product_id": 1, "name": "x", "price": -1}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": "abc"}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": "-1.00"}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": float("nan")}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": float("inf")}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": 10**16}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "price": True}, "price: must be a non-negative number"),
    ({"wc_product_id": 1, "name": "x", "categories": "10"}, "categories: must be a list"),
    ({"wc_product_id": 1, "name": "x", "categories": [{"name": "c"}]}, "categories: every item must have a positive integer id"),
    ({"wc_product_id": 1, "name": "x", "categories": [{"id": 1}, {"id": 0}]}, "categories: every item must have a positive integer id"),
    ({"wc_product_id": 1, "name": "x", "updated_at": "2026-02-30"}, "updated_at: must be an ISO 8601"),
    ({"wc_product_id": 1, "name": "x", "updated_at": "yesterday"}, "updated_at: must be an ISO 8601"),
    ({"wc_product_id": 1, "name": "x", "updated_at": "2026-01-01T10:00:00+16:00"}, "updated_at: must be an ISO 8601"),
    ({"wc_product_id": 1, "name": "x", "updated_at": 20260101}, "updated_at: must be an ISO 8601"),
    ({"wc_product_id": 1, "name": "x", "sku": 5}, "sku: must be a string"),
    ({"wc_product_id": 1, "name": "x", "stock_quantity": 1.0}, "stock_quantity: must be an integer"),
    ({"wc_product_id": 1, "name": "x", "updated_at": "20260101T100000"}, "updated_at: must be an ISO 8601"),
    ({"wc_product_id": 1, "name": "x", "stock_quantity": 2**31}, "stock_quantity: must be between -2147483648 and 2147483647"),
])
def test_invalid_products_are_skipped_with_reason(record, reason):
    assert check(PRODUCTS, record).startswith(reason)


@pytest.mark.parametrize("record", [
    {"wc_product_id": 1, "name": "x", "price": "24.99", "regular_price": "", "sale_price": 0},
    {"wc_product_id": 1, "name": "x", "stock_quantity": -3},
    {"wc_product_id": 1, "name": "x", "categories": [{"id": 10, "name": "W", "slug": "w"}, {"id": 11}]},
    {"wc_product_id": 1, "name": "x", "created_at": "2026-01-01", "updated_at": "2026-01-01T10:30:00.123+05:30"},
    {"wc_product_id": 1, "name": "x", "updated_at": "2026-01-01T10:30:00"},
    {"wc_product_id": 2**63 - 1, "name": "x"},
])
def test_valid_products(record):
    assert check(PRODUCTS, record) is None


@pytest.mark.parametrize("email, valid", [
    ("john@example.com", True),
    ("  John@Example.com ", True),
    ("", True),  # no email
    ("not-an-email", False),
    ("a@b@c", False),
    ("x" * 250 + "@example.com", False),
])
def test_customer_email(email, valid):
    reason = check(CUSTOMERS, {"wc_customer_id": 1, "email": email})
    assert (reason is None) == valid
    if not valid:
        assert reason == "email: must be an email address"
        assert email not in reason


def test_customer_email_must_be_a_string():
    assert check(CUSTOMERS, {"wc_customer_id": 1, "email": 5}) == "email: must be a string"


def test_category_parent_zero_means_none_and_negative_is_invalid():
    assert check(CATEGORIES, {"wc_category_id": 1, "name": "c", "parent": 0}) is None
    assert check(CATEGORIES, {"wc_category_id": 1, "name": "c", "parent_id": -1}) == "parent_id: must be between 0 and 9223372036854775807"


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
    assert (batch.records_json, batch.indexes, batch.errors) == ("[]", [], [])


@pytest.mark.parametrize("value, expected", [(5, 5), ("501", "501"), ("x" * 41, None), (True, None), ([1], None), (None, None)])
def test_reported_id(value, expected):
    assert reported_id(value) == expected


def test_describe_joins_the_first_reason_of_each_field():
    assert describe({"b": ["bad", "worse"], "a": ["required field"]}) == "a: required field; b: bad"


def test_one_validator_per_entity():
    assert validator_for(PRODUCTS) is validator_for(PRODUCTS)
    assert validator_for(PRODUCTS) is not validator_for(CUSTOMERS)


def test_serialise_is_compact_and_keeps_unicode():
    assert serialise({"name": "é"}) == ('{"name":"é"}', None)


def test_category_cannot_be_its_own_parent():
    assert check(CATEGORIES, {"wc_category_id": 1, "name": "c", "parent_id": 1}) == \
        "parent_id: a category cannot be its own parent"
    assert check(CATEGORIES, {"id": 2, "name": "c", "parent": 2}) == "parent_id: a category cannot be its own parent"


def test_category_item_names_must_be_text():
    reason = "categories: every item's name must be a string of at most 1000 characters"
    assert check(PRODUCTS, {"id": 1, "name": "p", "categories": [{"id": 2, "name": "c"}, {"id": 3, "name": 5}]}) == reason
    assert check(PRODUCTS, {"id": 1, "name": "p", "categories": [{"id": 2, "name": "x" * 1001}]}) == reason
    assert check(PRODUCTS, {"id": 1, "name": "p", "categories": [{"id": 2, "name": None}, {"id": 3}]}) is None


def test_errors_of_both_layers_are_merged_in_batch_order():
    batch = validate_batch(PRODUCTS, [{"id": 1, "name": "a"}, {"id": 2}, {"id": 3, "name": "c"}, {"id": 4, "name": "d"}])
    sql_errors = [{"index": 2, "id": 4, "reason": "r4"}, {"index": 0, "id": 1, "reason": "r1"}]  # indexes of the 3 sent
    assert [(e["index"], e["id"]) for e in merge_errors(batch, sql_errors)] == [(0, 1), (1, 2), (3, 4)]


@pytest.mark.parametrize("amount, valid", [
    (Decimal("999999999999999.99"), True), (Decimal("1E+15"), True), (Decimal("1000000000000000.01"), False), (Decimal("12345678.123456789"), True), (Decimal("0.10"), True),
    (Decimal("-0.0"), True), (Decimal("1E-980"), True),  # 982 characters as numeric prints it
    (Decimal("1E-999"), False), (Decimal("0E-1000"), False),  # over 1000: text_money() refuses them
    (Decimal("-0.01"), False), (Decimal("1E+400"), False), (Decimal("NaN"), False), (Decimal("sNaN"), False),
    (Decimal("Infinity"), False), (Decimal("-Infinity"), False),
], ids=str)
def test_decimal_amounts_are_checked_as_text_money_reads_them(amount, valid):
    reason = check(CUSTOMERS, {"wc_customer_id": 1, "total_spent": amount})
    assert (reason is None) == valid, reason
    if not valid:
        assert reason.startswith("total_spent: must be a non-negative number")


@pytest.mark.parametrize("field", ["wc_product_id", "category_id", "stock_quantity"])
def test_a_decimal_is_never_an_integer(field):
    reason = check(PRODUCTS, {"wc_product_id": 1, "name": "x", field: Decimal("5.0")})
    assert reason.startswith(f"{field}: must be"), reason


def test_serialise_writes_decimal_amounts_as_the_exact_json_numbers_sent():
    doc = {"wc_product_id": 1, "price": Decimal("999999999999999.99"), "name": "x", "sale_price": Decimal("1.50E+3")}
    text, reason = serialise(doc)
    assert reason is None
    assert text == '{"wc_product_id":1,"name":"x","price":999999999999999.99,"sale_price":1.50E+3}'
    assert json.loads(text, parse_float=Decimal) == doc


def test_serialise_refuses_a_nested_decimal_too_large_for_a_float():
    """Deeper values are never read by SQL; 1e400 there must not reach PostgreSQL (numeric overflows at 1e131072)."""
    categories = [{"id": 5, "slug": Decimal("1e200000")}]
    assert serialise({"wc_product_id": 1, "categories": categories}) == (None, "number: must be finite")
    assert serialise({"wc_product_id": 1, "categories": [{"id": 5, "slug": Decimal("0.5")}]}) == \
        ('{"wc_product_id":1,"categories":[{"id":5,"slug":0.5}]}', None)


def test_nested_aliases_read_into_objects_only():
    assert project({"id": 1, "status": "s", "billing": {"email": "a@b.c", "country": "FR"}}, ORDERS) == \
        {"wc_order_id": 1, "status": "s", "email": "a@b.c", "billing_country": "FR"}
    assert project({"id": 1, "status": "s", "email": "top@b.c", "billing": {"email": "a@b.c"}}, ORDERS)["email"] \
        == "top@b.c"
    for billing in (None, "a@b.c", ["a@b.c"], {"email": None}):
        assert "email" not in project({"id": 1, "status": "s", "billing": billing}, ORDERS)


def test_line_items_are_passed_on_with_their_fields_only_and_amounts_exact():
    record = {"id": 1, "status": "s", "line_items": [
        {"product_id": 5, "quantity": 1, "price": Decimal("8.3333333333333333333"), "sku": None,
         "meta_data": [{"key": "Gift message", "value": "For Ann"}], "taxes": [{"total": Decimal("1e400")}]}]}
    batch = validate_batch(ORDERS, [record])
    assert batch.records_json == \
        '[{"wc_order_id":1,"status":"s","line_items":[{"product_id":5,"quantity":1,"price":8.3333333333333333333}]}]'


def test_the_first_bad_line_item_is_reported_with_its_first_bad_field():
    items = [{"product_id": 1, "quantity": 1}, {"product_id": -1, "quantity": "x"}, 5]
    assert check(ORDERS, {"id": 1, "status": "s", "line_items": items}) == \
        "line_items: item 1: product_id: must be between 0 and 9223372036854775807"

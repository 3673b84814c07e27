"""serialise() writes with orjson where it can: its verdict, and the JSON values PostgreSQL reads
from its text, are those of json's encoder alone (validation._ENCODER) for any document."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.batch import validation
from service.batch.entities import ORDERS
from service.batch.validation import serialise

from http_helpers import stored


def by_json_alone(doc, record_lists=()):
    """serialise() as it was before orjson."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "_orjson_text", lambda value: None)
        return serialise(doc, record_lists)


def as_postgresql_reads(text):
    """The JSON value of text, each number as (value, display scale): what jsonb keeps of it."""
    return json.loads(text, parse_float=number, parse_int=number, parse_constant=number)


def number(literal):
    value = Decimal(literal)
    return (value, max(0, -value.as_tuple().exponent)) if value.is_finite() else literal


def assert_same_as_json_alone(doc, record_lists=()):
    text, reason = serialise(doc, record_lists)
    expected_text, expected_reason = by_json_alone(doc, record_lists)
    assert reason == expected_reason
    if text != expected_text:  # the same text, even where it is no JSON (a line item's Decimal("Infinity"))
        assert as_postgresql_reads(text) == as_postgresql_reads(expected_text)


@pytest.mark.parametrize(
    "doc",
    [
        {"name": 'é 😀 \u2028 \x7f \x01 \b\f\n\r\t " \\ /'},
        {"name": "a\x00b"},
        {"name": "a\\u0000b"},  # the text of an escape, not a NUL
        {"name": "lone \ud800"},
        {"name": "null", "sku": None},
        {"categories": [{"id": 5, "extra": 2**64}]},  # past orjson's 64 bits
        {"categories": [{"id": 5, "extra": -(2**63) - 1}]},
        {"categories": [{"id": 5, "extra": 2**64 - 1}]},
        {"categories": [{"id": 5, "extra": Decimal("0.5")}]},  # a float there
        {"categories": [{"id": 5, "extra": Decimal("1e400")}]},  # infinite: refused
        {"categories": [{"id": 5, "extra": float("nan")}]},  # orjson would write null
        {"categories": [{"id": 5, "extra": float("-inf")}]},
        {"categories": [{"id": 5, "extra": [1e-05, 1e16, 1.5e300, -0.0, 0.1, 5e-324]}]},
        {"categories": [{"id": 5, "extra": {"\ud800": 1}}]},
        {"categories": [{"id": 5, "extra": [[[[[]]]]] * 2 + [1] + [{"a": [{}]}]}]},
        {"categories": [{"id": 5, "junk": json.loads("[" * 300 + "1" + "]" * 300)}]},  # deeper than orjson goes
        {"price": Decimal("24.90"), "total": Decimal("1E+3"), "name": "x", "sku": True},
        {"price": Decimal("24.90")},
    ],
    ids=repr,
)
def test_the_verdict_and_the_values_are_those_of_json_alone(doc):
    assert_same_as_json_alone(doc)


def test_line_items_are_written_exactly():
    doc = {"wc_order_id": 1, "total": Decimal("10.10"), "line_items": [{"product_id": 2, "price": Decimal("5.050")}]}
    text, reason = serialise(doc, ORDERS.record_lists)
    assert reason is None
    assert json.loads(text, parse_float=str) == {
        "wc_order_id": 1,
        "total": "10.10",
        "line_items": [{"product_id": 2, "price": "5.050"}],
    }
    assert_same_as_json_alone(doc, ORDERS.record_lists)
    assert_same_as_json_alone({"wc_order_id": 1, "line_items": [{"product_id": 2, "name": "é"}]}, ORDERS.record_lists)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.decimals(allow_nan=False, places=None).filter(lambda value: abs(value.adjusted()) < 500),
    st.text(st.sampled_from('an\x00\x01\ud800\udfffé😀\u2028"\\/')),  # NUL, lone surrogates
)
documents = st.dictionaries(
    st.sampled_from(["name", "sku", "price", "categories", "line_items", "x"]),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)),
    max_size=5,
)


@settings(max_examples=500)
@given(documents)
def test_any_document_gets_the_verdict_and_values_of_json_alone(doc):
    # items as project_items() leaves them: dicts keyed by field names (json alone wrote those unescaped)
    items = doc.get("line_items")
    if isinstance(items, list) and all(isinstance(item, dict) and all(map(str.isidentifier, item)) for item in items):
        assert_same_as_json_alone(doc, ("line_items",))
    assert_same_as_json_alone({name: value for name, value in doc.items() if name != "line_items"})


@pytest.mark.gen_test
async def test_what_orjson_cannot_write_is_stored_all_the_same(post, store, query):
    """A category item holding what only json's encoder writes: an int past 64 bits, "null", nesting."""
    body = (
        b'{"products": [{"wc_product_id": 1, "name": "a", "categories": [{"id": 5, "big": 123456789012345678901234567890}]}, '
        b'{"wc_product_id": 2, "name": "null", "categories": [{"id": 5, "x": null}]}, '
        b'{"wc_product_id": 3, "name": "c", "categories": [{"id": 5, "deep": ' + b"[" * 300 + b"]" * 300 + b"}]}]}"
    )
    response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert json.loads(response.body)["data"]["errors"] == []
    assert stored(query, "products", store.id) == {1: "a", 2: "null", 3: "c"}


def test_floats_are_spelt_differently_but_read_alike():
    """Why as_postgresql_reads compares numbers by value and scale, not text."""
    text, _ = serialise({"x": [1e-05]})
    assert text == '{"x":[0.00001]}' and by_json_alone({"x": [1e-05]})[0] == '{"x":[1e-05]}'
    assert as_postgresql_reads(text) == as_postgresql_reads('{"x":[1e-05]}')

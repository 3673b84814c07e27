"""body.parse_batch: one pass that parses a batch and counts its records, with the verdict of
the two it replaces (has_more_items, then parse_json) on every body, valid or not."""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.batch.body import FAST_PARSE_VALUES, TooManyItems, _records_at_once, has_more_items, is_utf8, parse_batch
from service.batch.entities import PRODUCTS
from service.batch.validation import parse_json

from http_helpers import assert_error, nothing_written

LIMIT = 5


def as_read(body):
    """A parsed body as the service reads it: each record of its products array that is an
    object, with only the fields the service reads (parse_batch may leave the others out)."""
    if type(body) is dict and type(body.get("products")) is list:
        kept = PRODUCTS.fields_read
        records = [
            {key: value for key, value in record.items() if key in kept} if type(record) is dict else record
            for record in body["products"]
        ]
        return {**body, "products": records}
    return body


def two_passes(text, limit=LIMIT):
    """What the handler did before parse_batch: count, then parse; (outcome, value as read)."""
    if has_more_items(text, "products", limit):
        return "too many", None
    try:
        return "parsed", as_read(parse_json(text))
    except (ValueError, ArithmeticError) as exc:
        return type(exc).__name__, str(exc)


def one_pass(text, limit=LIMIT):
    try:
        return "parsed", as_read(parse_batch(text, PRODUCTS, limit))
    except TooManyItems:
        return "too many", None
    except (ValueError, ArithmeticError) as exc:
        return type(exc).__name__, str(exc)


BODIES = [
    '{"products": [{}, {}, {}, {}, {}, {}]}',
    '{"products": [{}, {}, {}, {}, {}]}',
    ' { "other" : [1, {"a": [2, 3]}, "x,y"] , "products" :\n[ {} , [] ,0,"s", null, {"b": [{}, {}]} ] } ',
    ' { "other" : [1, 2, 3, 4, 5, 6, 7] , "products" :\n[ {} , [] ,0,"s,,,,,,", {"b": [{}, {}]} ] } ',
    '{"products": [], "products": [{}, {}, {}, {}, {}, {}]}',
    '{"products": [1, 2, 3, 4, 5, 6], "products": []}',
    '{"products": [1, 2, 3, 4, 5, 6], "products": 5}',
    '{"pr\\u006fducts": [1, 2, 3, 4, 5, 6]}',
    '{"products": [{"price": 1.50, "total": 1E3, "id": -0, "big": 123456789012345678901234567890}]}',
    '{"products": [1, 2, 3, 4, 5, 6, NaN]}',  # too many before the NaN: 413, as before
    '{"products": [NaN, 1, 2, 3, 4, 5, 6]}',  # NaN is counted as any number, and is too many too
    '{"products": [NaN]}',
    '{"a": Infinity, "products": []}',
    '{"products": [1.5e99999999999999999999]}',  # Decimal refuses the exponent
    '{"products": [1.5e99999999999999999999, 1, 2, 3, 4, 5, 6]}',
    '{"products": ["\\ud800", "a\\u0000b"]}',
    '{"products": [1, 2, 3, 4, 5, 6]} trailing',
    '{"products": [1, 2, 3],}',
    '{"products": [1, 2, , 3]}',
    '{"products" [1, 2, 3, 4, 5, 6]}',
    '\ufeff{"products": []}',
    "{}",
    "  {  }  ",
    "[1, 2, 3, 4, 5, 6]",
    "",
    '"products"',
]


@pytest.mark.parametrize("text", BODIES)
@pytest.mark.parametrize("limit", [0, 1, 5, 6])
def test_the_verdict_and_value_are_those_of_counting_then_parsing(text, limit):
    assert one_pass(text, limit) == two_passes(text, limit)


TOKENS = [
    '{"products":',
    '{"other":',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"s"',
    '"a,b"',
    "1",
    "1.5",
    "NaN",
    " ",
    "\n",
    "null",
]


@settings(max_examples=2000)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_any_string_of_json_tokens_gets_the_verdict_of_counting_then_parsing(tokens):
    text = "".join(tokens)
    assert one_pass(text) == two_passes(text)


def test_amounts_stay_decimals():
    body = parse_batch('{"products": [{"price": 24.90}]}', PRODUCTS, LIMIT)
    assert body == {"products": [{"price": Decimal("24.90")}]}
    assert str(body["products"][0]["price"]) == "24.90"


def test_a_batch_of_products_parses_as_parse_json_parses_it():
    text = json.dumps({"products": [{"id": n, "name": f"é {n}", "price": n / 7} for n in range(1, 300)]}, indent=1)
    assert parse_batch(text, PRODUCTS, 5000) == parse_json(text)


@pytest.mark.parametrize(
    "body",
    [
        b'{"products": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        # commas enough for the record count to decode the deep item itself: it used to be a 500
        b'{"products": [' + b"[" * 100_000 + b"]" * 100_000 + b"," + b"0," * 5000 + b"0]}",
    ],
    ids=["deep", "deep-then-many"],
)
@pytest.mark.gen_test
async def test_a_body_nested_past_the_recursion_limit_is_400(post, store, query, body):
    response = await post("/api/sync/products", body, store.token)
    assert "maximum recursion depth" in assert_error(response, 400, "invalid_json")
    nothing_written(query, store.id)


# The plugin's own body, {"products": [...]} alone, is read at once by msgspec (_records_at_once),
# each record without the fields the service does not read.
PLUGIN_BODIES = [
    '{"products": []}',
    ' {\n "products" :\t[ {"id": 1, "price": "24.90", "weight": 0.50, "big": 123456789012345678901234567890} ] }\n',
    '{"products": [{"name": "Caf\\u00e9 \\/ th\\u00e9", "src": "https:\\/\\/x.test\\/a.jpg", "e": 1E3, "z": -0.0}]}',
    '{"products": [{"name": "😀 é", "n": null, "t": true, "f": false, "l": [1, [2, {"k": "v"}]]}]}',
    '{"products": [{"a": 1, "a": 2}]}',  # a duplicate key inside a record: the last one, as json
]


@pytest.mark.parametrize("text", PLUGIN_BODIES)
def test_a_plugin_body_is_read_at_once_to_what_parse_json_reads(text):
    assert _records_at_once(text, PRODUCTS) is not None
    assert _records_at_once(text.encode(), PRODUCTS) is not None
    assert one_pass(text) == one_pass(text.encode()) == two_passes(text) == ("parsed", as_read(parse_json(text)))
    assert repr(parse_batch(text, PRODUCTS, LIMIT)) == repr(as_read(parse_json(text)))  # Decimals as sent
    assert repr(parse_batch(text.encode(), PRODUCTS, LIMIT)) == repr(as_read(parse_json(text)))


def test_the_fields_not_read_are_left_out_unread():
    """Their values are skipped as well-formed JSON, not decoded: numbers json refuses there
    (an integer past Python's 4,300 digits, an exponent Decimal refuses) no longer fail the body;
    in a field that is read they still do."""
    for junk in ("1" * 4301, "1.5e99999999999999999999"):
        text = '{"products": [{"id": 1, "name": "A", "images": [{"src": "x"}], "junk": ' + junk + "}]}"
        assert parse_batch(text, PRODUCTS, LIMIT) == {"products": [{"id": 1, "name": "A"}]}
        with pytest.raises((ValueError, ArithmeticError)):
            parse_json(text)
        text = '{"products": [{"id": 1, "price": ' + junk + "}]}"
        assert one_pass(text)[0] in ("ValueError", "InvalidOperation")


def test_records_keep_every_field_read_when_an_item_is_not_an_object():
    text = '{"products": [{"id": 1, "junk": 2}, 5]}'
    assert parse_batch(text, PRODUCTS, LIMIT) == parse_json(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"products": [], "products": [{}, {}, {}, {}, {}, {}]}',  # a second key: walked
        '{"pr\\u006fducts": [1]}',  # the key with an escape
        '{"other": 1, "products": [1]}',
        '{"products": ["\\ud800"]}',  # msgspec refuses a lone surrogate, json reads it
        '{"products": [1.5e99999999999999999999]}',
        '{"products": 5}',
        '{"products": [' + "0," * FAST_PARSE_VALUES + "0]}",  # past the values a body read at once holds
    ],
)
def test_any_other_body_is_walked_with_the_same_verdict(text):
    assert _records_at_once(text, PRODUCTS) is None
    assert _records_at_once(text.encode(), PRODUCTS) is None
    for limit in (0, 5, FAST_PARSE_VALUES + 1):
        assert one_pass(text, limit) == one_pass(text.encode(), limit) == two_passes(text, limit)


def test_a_plugin_body_over_the_limit_is_too_many():
    assert one_pass('{"products": [{}, {}, {}, {}, {}, {}]}') == ("too many", None)


@pytest.mark.parametrize("depth", range(900, 1010))
def test_msgspec_reaches_the_nesting_limit_no_later_than_json(depth):
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        text = '{"products": [' + opener * depth + "1" + closer * depth + "]}"
        records = _records_at_once(text, PRODUCTS)
        if records is not None:
            assert {"products": records} == as_read(parse_json(text))  # json, from this same frame, reads it too


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: str(d))
    | st.text(max_size=8)
)


# Keys of any text, and some that name fields a product's record is read for.
KEYS = st.text(max_size=4) | st.sampled_from(["id", "name", "price", "categories", "images", "date_created_gmt"])


def json_texts():
    """JSON texts of any shape, numbers written in any of JSON's spellings."""
    values = st.recursive(
        JSON_SCALARS.map(json.dumps) | st.sampled_from(["1.50", "1E3", "-0.0", "0e0", "2.5e-7", "10"]),
        lambda children: (
            st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
            | st.dictionaries(KEYS.map(json.dumps), children, max_size=4).map(
                lambda pairs: "{" + ",".join(f"{key}: {value}" for key, value in pairs.items()) + "}"
            )
        ),
        max_leaves=20,
    )
    return st.lists(values, max_size=6).map(lambda items: '{"products": [' + ", ".join(items) + "]}")


@settings(max_examples=1000)
@given(json_texts())
def test_any_plugin_body_reads_as_parse_json_reads_it(text):
    """As text, and as the UTF-8 bytes the service reads."""
    assert one_pass(text) == one_pass(text.encode()) == two_passes(text)
    if one_pass(text)[0] == "parsed":
        assert repr(as_read(parse_batch(text, PRODUCTS, LIMIT))) == repr(as_read(parse_json(text)))
        assert repr(as_read(parse_batch(text.encode(), PRODUCTS, LIMIT))) == repr(as_read(parse_json(text)))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", True),
        (b'{"a": "plain"}', True),
        ('{"a": "Caf\u00e9 \U0001f600"}'.encode(), True),
        (b"\xff", False),
        (b"caf\xc3", False),  # cut short
        (b"\xc0\xaf", False),  # overlong
        (b"\xed\xa0\x80", False),  # a surrogate
        (b"\xf4\x90\x80\x80", False),  # past U+10FFFF
    ],
)
def test_is_utf8(data, expected):
    assert is_utf8(data) is expected

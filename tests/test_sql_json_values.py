"""The readers and checks of untrusted JSON values (sql/json_values.sql), selected directly.

Each reader returns the typed value, or NULL when the JSON does not hold a
valid one, and never raises; each *_error check names the field and the
problem without quoting the value. The cases are those the functions'
comments document, with the edges around them.
"""

import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.batch import checks

UTC = UTC
MAX_BIGINT = 2**63 - 1


@pytest.fixture
def select(query):
    """select('json_id(%s::jsonb)', value) -> the one value that expression gives."""

    def run(expression, *params):
        [row] = query(f"SELECT {expression} AS value", params)
        return row["value"]

    return run


@pytest.mark.parametrize(
    "json_text, expected",
    [
        ("12", 12),
        ("1", 1),
        (str(MAX_BIGINT), MAX_BIGINT),
        ("1.0", None),
        ("1e3", 1000),
        ("1.0e1", 10),
        ("1.00e1", None),
        ("  7 ", 7),
        ('"12"', None),
        ("0", None),
        ("-1", None),
        ("1.5", None),
        ("true", None),
        ("null", None),
        (str(MAX_BIGINT + 1), None),
        ("1e400", None),
        ("[1]", None),
        ('{"id": 1}', None),
        (None, None),
    ],
    ids=repr,
)
def test_json_id_is_a_positive_json_integer_within_bigint(json_text, expected, select):
    assert select("json_id(%s::jsonb)", json_text) == expected


@pytest.mark.parametrize(
    "json_text, expected",
    [
        ("0", 0),
        ("-5", -5),
        ("2.0", None),
        ("2e0", 2),
        (str(-MAX_BIGINT - 1), -MAX_BIGINT - 1),
        (str(MAX_BIGINT), MAX_BIGINT),
        (str(-MAX_BIGINT - 2), None),
        (str(MAX_BIGINT + 1), None),
        ("1.5", None),
        ('"1"', None),
        ("false", None),
        ("null", None),
    ],
    ids=repr,
)
def test_json_bigint_is_a_json_integer_within_bigint(json_text, expected, select):
    assert select("json_bigint(%s::jsonb)", json_text) == expected


@pytest.mark.parametrize(
    "json_text, expected",
    [
        ('"a"', "a"),
        ('""', ""),
        ('"  x "', "  x "),
        ('"é\\n"', "é\n"),
        ("1", None),
        ("null", None),
        ("[]", None),
        ("true", None),
    ],
    ids=repr,
)
def test_json_string_is_a_json_string_as_sent(json_text, expected, select):
    assert select("json_string(%s::jsonb)", json_text) == expected


@pytest.mark.parametrize(
    "json_text, absent",
    [(None, True), ("null", True), ('""', False), ("0", False), ("false", False), ("[]", False)],
    ids=repr,
)
def test_is_absent_means_missing_or_json_null(json_text, absent, select):
    assert select("is_absent(%s::jsonb)", json_text) is absent


@pytest.mark.parametrize(
    "text, expected",
    [
        ("24.99", Decimal("24.99")),
        ("0", Decimal(0)),
        ("007.50", Decimal("7.50")),
        ("1000000000000000", Decimal(10**15)),
        ("0.000000000000000001", Decimal("1E-18")),
        ("", None),
        (None, None),
        ("1000000000000000.01", None),
        ("9" * 1000, None),
        ("9" * 1001, None),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("1E3", None),
        (" 5", None),
        ("5 ", None),
        ("1.", None),
        (".5", None),
        (".", None),
        ("1.2.3", None),
        ("1,5", None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        ("true", None),
        ("٣", None),
    ],
    ids=lambda value: repr(value)[:24],
)
def test_text_money_is_a_bounded_non_negative_decimal(text, expected, select):
    assert select("text_money(%s)", text) == expected


def test_a_json_number_reads_as_money_through_its_text(select):
    """r ->> 'price' of 1e3 is '1000', of 1.5e-7 '0.00000015': JSON numbers read as amounts."""
    assert select("text_money(%s::jsonb ->> 'p')", '{"p": 1e3}') == Decimal(1000)
    assert select("text_money(%s::jsonb ->> 'p')", '{"p": 1.5e-7}') == Decimal("0.00000015")
    assert select("text_money(%s::jsonb ->> 'p')", '{"p": 1e16}') is None


def at(*args, offset=timedelta(0)):
    return datetime(*args, tzinfo=timezone(offset)).astimezone(UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-01-15", at(2026, 1, 15)),
        ("2026-01-15T10:30:00Z", at(2026, 1, 15, 10, 30)),
        ("2026-01-15T10:30:00", at(2026, 1, 15, 10, 30)),  # naive: UTC
        ("2026-06-15T10:30:00", at(2026, 6, 15, 10, 30)),  # also in summer
        ("2026-01-15 10:30", at(2026, 1, 15, 10, 30)),
        ("2026-01-15T10:30Z", at(2026, 1, 15, 10, 30)),
        ("2026-01-15T10:30:00+05:30", at(2026, 1, 15, 10, 30, offset=timedelta(hours=5, minutes=30))),
        ("2026-01-15T10:30:00+0530", at(2026, 1, 15, 10, 30, offset=timedelta(hours=5, minutes=30))),
        ("2026-01-15T10:30:00-05:30", at(2026, 1, 15, 10, 30, offset=-timedelta(hours=5, minutes=30))),
        ("2026-01-15T10:30+01:00", at(2026, 1, 15, 10, 30, offset=timedelta(hours=1))),
        ("2026-01-15T10:30:00-00:00", at(2026, 1, 15, 10, 30)),
        ("2026-01-15T10:30:00+15:59", at(2026, 1, 15, 10, 30, offset=timedelta(hours=15, minutes=59))),
        ("2026-01-15T10:30:00.123+05:30", at(2026, 1, 15, 10, 30, 0, 123000, offset=timedelta(hours=5, minutes=30))),
        ("2026-01-15T10:30:00.123456Z", at(2026, 1, 15, 10, 30, 0, 123456)),
        ("2024-02-29", at(2024, 2, 29)),
        ("2000-02-29", at(2000, 2, 29)),
        ("2026-12-31T23:59:59Z", at(2026, 12, 31, 23, 59, 59)),
        ("2026-01-31", at(2026, 1, 31)),
        ("2026-04-30", at(2026, 4, 30)),
    ],
    ids=repr,
)
def test_text_timestamptz_reads_iso_8601_with_naive_as_utc(text, expected, select, query):
    query("SET TIME ZONE 'America/New_York'")  # the session's zone must not matter
    assert select("text_timestamptz(%s)", text) == expected


def http_layer_reading(text):
    """The instant the HTTP layer reads text as (naive: UTC), or None where it refuses it."""
    refused = []
    checks.iso_timestamp("at", text, lambda field, message: refused.append(message))
    if refused:
        return None
    read = datetime.fromisoformat(text)
    return read if read.tzinfo else read.replace(tzinfo=UTC)


def exact_epoch(read):
    """Seconds since 1970 as a Decimal, to the microsecond (a float would round them)."""
    if read is None:
        return None
    since = read - datetime(1970, 1, 1, tzinfo=UTC)
    return Decimal(since.days * 86400 + since.seconds) + Decimal(since.microseconds).scaleb(-6)


def test_text_timestamptz_reads_woocommerce_shapes_as_the_http_layer_does(query):
    """WooCommerce's shapes (text_timestamptz's fast lane) with every field at and past its
    bounds: SQL accepts exactly what the HTTP layer does, as the same instant."""
    years, months = ["0000", "0001", "1970", "2024", "2100", "9999"], ["00", "01", "02", "04", "12", "13", "99"]
    days, hours = ["00", "01", "09", "10", "28", "29", "30", "31", "32", "99"], ["00", "09", "19", "23", "24", "99"]
    minutes = seconds = ["00", "09", "59", "60", "99"]
    texts = [
        f"{year}-{month}-{day}T{hour}:{minute}:{second}{zone}"
        for year, month, day, hour, minute, second, zone in itertools.product(
            years, months, days, hours, minutes, seconds, ["", "Z"]
        )
    ]
    rows = query(
        "SET TIME ZONE 'America/New_York'; SELECT s AS text, extract(epoch FROM text_timestamptz(s)) AS read FROM unnest(%s::text[]) AS s",
        (texts,),
    )
    assert len(rows) == len(texts) == 126_000
    # as seconds since 1970: year 1 in New York's zone is out of Python's range
    readings = {text: http_layer_reading(text) for text in texts}
    expected = {text: None if read is None else Decimal(read.timestamp()) for text, read in readings.items()}
    disagreements = [row for row in rows if row["read"] != expected[row["text"]]]
    assert disagreements == []


def test_text_timestamptz_reads_woocommerce_shapes_with_a_stray_character_as_the_http_layer_does(query):
    """Each character of WooCommerce's shapes replaced by one that is not a digit there (another
    separator, a sign, a space, a letter, non-ASCII digits and letters): SQL accepts exactly what
    the HTTP layer does, and never raises."""
    strays = ["a", " ", "-", ":", "T", "Z", "+", ".", "/", "\u0663", "\uff10", "é", "\t"]
    texts = [
        shape[:position] + stray + shape[position + 1 :]
        for shape in ("2024-02-29T23:59:59", "2026-12-31T00:00:00Z")
        for position in range(len(shape))
        for stray in strays
    ]
    rows = query(
        "SELECT s AS text, extract(epoch FROM text_timestamptz(s)) AS read FROM unnest(%s::text[]) AS s", (texts,)
    )
    readings = {text: http_layer_reading(text) for text in texts}
    expected = {text: None if read is None else Decimal(read.timestamp()) for text, read in readings.items()}
    assert [row for row in rows if row["read"] != expected[row["text"]]] == []
    assert sum(read is not None for read in readings.values()) < len(texts) // 10


# Texts near ISO 8601: valid date-times with characters replaced, inserted or removed.
iso_characters = st.sampled_from(list("0123456789-+:TZ.t ") + ["\u0663", "é"])


@st.composite
def near_iso_texts(draw):
    text = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))).isoformat()
    text += draw(st.sampled_from(["", "Z", "+05:30", "-00:00", "+0530"]))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["replace", "insert", "delete"]))
        stray = draw(iso_characters)
        if edit == "replace":
            text = text[:at] + stray + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + stray + text[at:]
        else:
            text = text[:at] + text[at + 1 :]
    return text


@given(st.lists(near_iso_texts(), min_size=1, max_size=40))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_text_timestamptz_reads_texts_near_iso_8601_as_the_http_layer_does(query, texts):
    rows = query(
        "SELECT s AS text, extract(epoch FROM text_timestamptz(s)) AS read FROM unnest(%s::text[]) AS s", (texts,)
    )
    expected = {text: exact_epoch(http_layer_reading(text)) for text in texts}
    assert [row for row in rows if row["read"] != expected[row["text"]]] == []


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "2026-02-29",
        "2100-02-29",
        "2026-04-31",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-01-32",
        "0000-01-01",
        "2026-01-15T24:00:00",
        "2026-01-15T23:60:00",
        "2026-01-15T23:59:60",
        "2026-01-15T10:30:00+16:00",
        "2026-01-15T10:30:00-16:00",
        "2026-01-15T10:30:00+05:60",
        "2026-01-15T10:30:00+05",
        "2026-01-15T10:30:00.1234567Z",
        "2026-01-15T10:30:00.Z",
        "2026-01-15t10:30:00z",
        "2026-01-15T10:30:00 +05:30",
        "2026-01-15T10:30:00ZZ",
        "2026-01-15T10:30:00+05:30Z",
        "2026-01-15T10",
        "2026-01-15T1030",
        "20260115",
        "2026-1-5",
        " 2026-01-15",
        "2026-01-15 ",
        "",
        "x",
        "yesterday",
        "2026-01-15T10:30:00 EST",
        "2026+01-15",
        "2026-01+15T10:30:00Z",
        "2024+02-29T10:30:00",
        "1e3",
        None,
    ],
    ids=repr,
)
def test_text_timestamptz_gives_null_for_anything_else_without_raising(text, select):
    assert select("text_timestamptz(%s)", text) is None


@pytest.mark.parametrize(
    "expression, params, expected",
    [
        ("id_error('wc_product_id', %s::jsonb, json_id(%s::jsonb), true)", ("12", "12"), None),
        (
            "id_error('wc_product_id', %s::jsonb, json_id(%s::jsonb), true)",
            (None, None),
            "wc_product_id: required field",
        ),
        (
            "id_error('wc_product_id', %s::jsonb, json_id(%s::jsonb), true)",
            ("null", "null"),
            "wc_product_id: required field",
        ),
        ("id_error('category_id', %s::jsonb, json_id(%s::jsonb), false)", ("null", "null"), None),
        (
            "id_error('category_id', %s::jsonb, json_id(%s::jsonb), false)",
            ('"secret"', '"secret"'),
            "category_id: must be a positive integer",
        ),
        ("integer_error('n', %s::jsonb, json_bigint(%s::jsonb), 0, 10)", ("11", "11"), "n: must be between 0 and 10"),
        ("integer_error('n', %s::jsonb, json_bigint(%s::jsonb), 0, 10)", ('"5"', '"5"'), "n: must be an integer"),
        ("integer_error('n', %s::jsonb, json_bigint(%s::jsonb), 0, 10)", ("10", "10"), None),
        ("text_error('name', %s::jsonb, json_string(%s::jsonb), true)", ('" "', '" "'), "name: must not be empty"),
        ("text_error('name', %s::jsonb, json_string(%s::jsonb), true)", ("null", "null"), "name: required field"),
        ("text_error('sku', %s::jsonb, json_string(%s::jsonb), false)", ('""', '""'), None),
        ("text_error('sku', %s::jsonb, json_string(%s::jsonb), false)", ("7", "7"), "sku: must be a string"),
        ("money_error('price', %s, text_money(%s))", ("", ""), None),
        (
            "money_error('price', %s, text_money(%s))",
            ("-3.50", "-3.50"),
            "price: must be a non-negative number or numeric string up to 1000000000000000",
        ),
        ("timestamp_error('updated_at', %s, text_timestamptz(%s))", (None, None), None),
        (
            "timestamp_error('updated_at', %s, text_timestamptz(%s))",
            ("2026-02-30", "2026-02-30"),
            "updated_at: must be an ISO 8601 date or date-time",
        ),
    ],
)
def test_error_checks_name_the_field_and_never_quote_the_value(expression, params, expected, select):
    reason = select(expression, *params)
    assert reason == expected
    for value in filter(None, params):
        if len(value.strip('" ')) > 2:  # a value that could not appear in a reason by chance
            assert reason is None or value.strip('"') not in reason


@pytest.mark.parametrize("character", ["x", "é", "€", "😀"])
@pytest.mark.parametrize("count", [0, 4, 5, 6])
def test_longer_than_counts_characters_whatever_their_bytes(character, count, select):
    assert select("longer_than(%s, 5)", character * count) is (count > 5)


def test_text_error_bounds_the_length_at_1000_characters(select):
    assert select("text_error('name', to_jsonb(%s::text), %s, true)", "é" * 1000, "é" * 1000) is None
    assert (
        select("text_error('name', to_jsonb(%s::text), %s, true)", "é" * 1001, "é" * 1001)
        == "name: longer than 1000 characters"
    )


@pytest.mark.parametrize(
    "json_text, expected",
    [
        ("12", 12),
        ('"12"', "12"),
        ('"' + "x" * 38 + '"', "x" * 38),
        ('"' + "x" * 39 + '"', None),
        ("1.5", 1.5),
        ("true", None),
        ("null", None),
        ("[1]", None),
        ('{"id": 1}', None),
        (None, None),
    ],
    ids=lambda value: repr(value)[:20],
)
def test_reported_id_is_a_short_scalar_as_sent(json_text, expected, select):
    assert select("reported_id(%s::jsonb)", json_text) == expected


# Each limit, by its name in each layer.
LIMITS = {
    "MAX_TEXT": "max_text_length",
    "MAX_EMAIL": "max_email_length",
    "MAX_CATEGORIES": "max_categories_per_product",
    "MAX_LINE_ITEMS": "max_line_items_per_order",
    "MAX_MONEY": "max_money",
    "MAX_INT": "max_integer",
    "MAX_BIGINT": "max_bigint",
}


@pytest.mark.parametrize("constant, function", LIMITS.items())
def test_each_limit_is_the_same_in_both_layers(constant, function, select):
    assert select(f"{function}()") == getattr(checks, constant)


def test_every_limit_of_either_layer_is_compared(query):
    """A new limit in either layer, not added to LIMITS, fails here."""
    assert {name for name in vars(checks) if name.startswith("MAX_")} == set(LIMITS)
    functions = query(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'max\\_%%'"
    )
    assert {row["proname"] for row in functions} == set(LIMITS.values())

"""One table of cases per entity: a record, and what both validation layers must make of it.

Every case runs through the HTTP layer (the handler's parsing and Cerberus
validation) and through the SQL function (as psql calls it), in
tests/test_layers_agree.py: both must store it, or both skip it with a
reason that starts as given (the field, then what is wrong). One fault per
record, so that the field named first is the same in both. A record is a
dict, or its JSON text where a number must reach both layers exactly as
written (1e3, 5.0, 24.990).
"""

import json

from case_table import Case
from order_cases import ORDER_CASES

NOT_AN_OBJECT = "record: must be a JSON object"
POSITIVE = "must be a positive integer"
INTEGER = "must be an integer"
AMOUNT = "must be a non-negative number or numeric string up to 1000000000000000"
DATE = "must be an ISO 8601 date or date-time"
STRING = "must be a string"
EMPTY = "must not be empty"
TOO_LONG = "longer than 1000 characters"
ITEM_ID = "categories: every item must have a positive integer id"
ITEM_NAME = "categories: every item's name must be a string of at most 1000 characters"


def product(**fields):
    return {"wc_product_id": 1, "name": "x", **fields}


def customer(**fields):
    return {"wc_customer_id": 1, **fields}


def category(**fields):
    return {"wc_category_id": 1, "name": "x", **fields}


def each(make, field, values, reason=None, named=None):
    """Cases setting one field to each of values: all stored, or all skipped with reason,
    which names the field (or named, for a WooCommerce alias)."""
    return [Case(make(**{field: value}), reason and f"{named or field}: {reason}") for value in values]


# Shared by every entity: the id, and how a record that is no object is refused.
def id_cases(make, id_field):
    return [
        Case(make(**{id_field: 2**63 - 1})),
        Case(f'{{"{id_field}": 1e3, "name": "x"}}'),  # an integer in value and in scale
        Case(f'{{"{id_field}": 1.0E+1, "name": "x"}}'),  # 10, scale 0
        Case({"id": 7, "name": "x"}),  # WooCommerce's name for it
        Case({"name": "x"}, f"{id_field}: required field"),
        Case({id_field: None, "name": "x"}, f"{id_field}: required field"),
        *each(make, id_field, [True, "1", "12", 1.5, 0, -4, 2**63, [1], {"id": 1}, "x" * 41], f"{POSITIVE}"),
        Case(f'{{"{id_field}": 1.0, "name": "x"}}', f"{id_field}: {POSITIVE}"),  # a fraction, if zero
        Case(f'{{"{id_field}": 1.00E+1, "name": "x"}}', f"{id_field}: {POSITIVE}"),
        Case(f'{{"{id_field}": 1e400, "name": "x"}}', f"{id_field}: {POSITIVE}"),
    ]


TIMESTAMPS_VALID = [
    "2026-01-15",
    "2026-01-15T10:30",
    "2026-01-15T10:30:00",
    "2026-01-15T10:30:00Z",
    "2026-01-15 10:30:00",
    "2026-01-15T10:30:00.123+05:30",
    "2026-01-15T10:30:00.123456Z",
    "2026-01-15T10:30:00+0530",
    "2026-01-15T10:30:00-15:59",
    "2024-02-29T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]
TIMESTAMPS_INVALID = [
    "2026-02-30",
    "2025-02-29",
    "2026-13-01",
    "2026-00-10",
    "2026-01-32",
    "0000-01-01",
    "2026-1-5",
    "yesterday",
    "now",
    "infinity",
    "20260101",
    "20260101T100000",
    "2026-01-15T24:00:00Z",
    "2026-01-15T10:60:00Z",
    "2026-01-15T10:30:60Z",
    "2026-01-15T10:30:00+16:00",
    "2026-01-15T10:30:00+05:60",
    "2026-01-15T10:30:00.1234567Z",
    "2026-01-15T10:30:00 Z",
    "2026-01-15T10:30:00+05",
    "2026-01-15Z",
    "2026-01-15T10:30:00Z ",
    " 2026-01-15",
    "2026-01-15\n",
    "Jan 15 2026",
    "2026-01-15T10",
    "２０２６-01-15",
    20260101,
    True,
    ["2026-01-15"],
]
AMOUNTS_VALID = [
    "24.99",
    "0",
    "007.50",
    "",
    "1000000000000000",
    "00000000000000001",
    "1.1234567890123",
    "0." + "0" * 997 + "1",
    12,
    0,
    10**15,
]
AMOUNTS_INVALID = [
    "-1",
    -1,
    "abc",
    "1e3",
    " 5",
    "5 ",
    "1.",
    ".5",
    "1,5",
    "1.2.3",
    "+5",
    "٣",
    "1000000000000000.01",
    "1" * 1001,
    "0." + "0" * 998 + "1",
    10**16,
    True,
    [1],
    {"amount": 1},
]
# JSON numbers, exactly as written: jsonb and Python's Decimal read the same value.
AMOUNT_NUMBERS_VALID = [
    "999999999999999.99",
    "12345678.123456789",
    "0.10",
    "1e3",
    "1.5E+2",
    "1E+15",
    "-0",
    "-0.0",
    "1E-980",
]
AMOUNT_NUMBERS_INVALID = ["-0.01", "1000000000000000.01", "1E+16", "1e400", "1E-999"]


def amount_cases(make, field):
    return [
        *each(make, field, AMOUNTS_VALID),
        *each(make, field, AMOUNTS_INVALID, AMOUNT),
        *[Case(f'{{{_pairs(make())}, "{field}": {number}}}') for number in AMOUNT_NUMBERS_VALID],
        *[
            Case(f'{{{_pairs(make())}, "{field}": {number}}}', f"{field}: {AMOUNT}")
            for number in AMOUNT_NUMBERS_INVALID
        ],
    ]


def _pairs(record):
    """A record's members as JSON text, without the braces, to splice a raw number in."""
    return json.dumps(record)[1:-1]


def text_cases(make, field):
    return [
        *each(make, field, ["", "   ", "a\\u0000b ünïcødé 😀", "é" * 1000, "\t"]),
        *each(make, field, [5, True, ["a"], {"a": 1}], STRING),
        *each(make, field, ["x" * 1001], TOO_LONG),
    ]


def integer_cases(make, field, minimum, maximum):
    return [
        *each(make, field, [minimum, maximum, 0 if minimum <= 0 else minimum]),
        Case(f'{{{_pairs(make())}, "{field}": 5e1}}'),
        *each(make, field, [1.5, "5", True, [1]], INTEGER),
        Case(f'{{{_pairs(make())}, "{field}": 5.0}}', f"{field}: {INTEGER}"),
        *each(make, field, [minimum - 1, maximum + 1], f"must be between {minimum} and {maximum}"),
        *each(make, field, [2**63, -(2**63) - 1], INTEGER),  # beyond bigint: no integer SQL can read
    ]


CASES = {
    "products": [
        Case(product()),
        *id_cases(product, "wc_product_id"),
        Case({"wc_product_id": 1}, "name: required field"),
        *each(product, "name", ["   ", "", "\t\n", " \r\n "], EMPTY),
        *each(product, "name", ["\f", "\v", " x "]),
        *each(product, "name", [5, ["a"], True], STRING),
        *each(product, "name", ["x" * 1001], TOO_LONG),
        *each(product, "name", ["é" * 1000]),
        *text_cases(product, "sku"),
        *text_cases(product, "category_name"),
        *text_cases(product, "stock_status"),
        *text_cases(product, "status"),
        *text_cases(product, "type"),
        *amount_cases(product, "price"),
        *amount_cases(product, "regular_price"),
        *amount_cases(product, "sale_price"),
        *each(product, "category_id", [1, 2**63 - 1]),
        *each(product, "category_id", [0, -1, "10", 1.5, True], POSITIVE),
        *integer_cases(product, "stock_quantity", -(2**31), 2**31 - 1),
        *each(product, "created_at", TIMESTAMPS_VALID),
        *each(product, "created_at", TIMESTAMPS_INVALID, DATE),
        *each(product, "updated_at", TIMESTAMPS_VALID),
        *each(product, "updated_at", TIMESTAMPS_INVALID, DATE),
        *each(product, "date_created_gmt", ["2026-01-15T10:30:00"]),
        *each(product, "date_created_gmt", ["yesterday"], DATE, named="created_at"),
        *each(product, "date_modified_gmt", ["2026-02-30T10:00:00"], DATE, named="updated_at"),
        # categories: WooCommerce's [{id, name, slug}]
        *each(
            product,
            "categories",
            [
                [],
                [{"id": 10, "name": "W", "slug": "w"}, {"id": 11}],
                [{"id": 2, "name": None}, {"id": 3}],
                [{"id": 1, "name": "é" * 1000}],
                [{"id": 2**63 - 1}],
                [{"id": n} for n in range(1, 101)],
                [{"id": 5, "slug": 5, "extra": {"nested": [1]}}],
            ],
        ),
        Case(f'{{{_pairs(product())}, "categories": [{{"id": 1e3}}, {{"id": 5}}]}}'),
        *each(product, "categories", ["10", {"id": 10}, 10, True], "must be a list"),
        *each(
            product,
            "categories",
            [
                [10],
                [{"name": "c"}],
                [{"id": 1}, {"id": 0}],
                [{"id": "10"}],
                [{"id": 10}, {"name": "no id"}],
                [{"id": -1}],
                [{"id": 2**63}],
                [{"id": True}],
                [None],
            ],
            ITEM_ID.partition(": ")[2],
        ),
        Case(f'{{{_pairs(product())}, "categories": [{{"id": 1.0}}]}}', ITEM_ID),
        *each(
            product,
            "categories",
            [
                [{"id": 10, "name": "ok"}, {"id": 20, "name": 5}],
                [{"id": 10, "name": "x" * 1001}],
                [{"id": 10, "name": ["a"]}],
            ],
            ITEM_NAME.partition(": ")[2],
        ),
        *each(product, "categories", [[{"id": n} for n in range(1, 102)]], "more than 100 items"),
        Case(product(categories=[{"id": n} for n in range(1, 102)] + [{"id": 0}]), "categories: more than 100 items"),
        Case(product(category_id=10, categories=[{"id": 11, "name": 5}]), ITEM_NAME),
    ],
    "customers": [
        Case(customer()),
        *id_cases(customer, "wc_customer_id"),
        *each(
            customer,
            "email",
            [
                "john@example.com",
                "  John.Doe@Example.COM  ",
                "ANN+tag@Sub.Example.org",
                "",
                "   ",
                "j" * 242 + "@example.com",
                "a@b",
                "\u00a0john@example.com",
                "jöhn@exämple.com",
                "x@y.z",
            ],
        ),
        *each(
            customer,
            "email",
            [
                "not-an-email",
                "john@doe@example.com",
                "john doe@example.com",
                "@example.com",
                "john@",
                "j" * 243 + "@example.com",
                "john@example.com\n",
                "\tjohn@example.com",
                " \t ",
                "john\u000bdoe@example.com",
                "john\fdoe@example.com",
            ],
            "must be an email address",
        ),
        *each(customer, "email", [12345, ["john@example.com"], True, {"a": "b@c"}], STRING),
        *text_cases(customer, "display_name"),
        *amount_cases(customer, "total_spent"),
        *integer_cases(customer, "order_count", 0, 2**31 - 1),
        *each(customer, "first_order_date", TIMESTAMPS_VALID[:3]),
        *each(customer, "first_order_date", TIMESTAMPS_INVALID[:6], DATE),
        *each(customer, "last_order_date", ["2026-13-01", "tomorrow"], DATE),
        *each(customer, "created_at", ["2026-01-15T10:30:00Z"]),
        *each(customer, "date_created_gmt", ["2026-01-15T10:30:00"]),
        *each(customer, "updated_at", TIMESTAMPS_INVALID[-8:], DATE),
        *each(customer, "date_modified_gmt", ["2026-02-30"], DATE, named="updated_at"),
    ],
    "categories": [
        Case(category()),
        *id_cases(category, "wc_category_id"),
        Case({"wc_category_id": 1}, "name: required field"),
        *each(category, "name", ["   ", "\t"], EMPTY),
        *each(category, "name", [5, ["a"]], STRING),
        *each(category, "name", ["x" * 1001], TOO_LONG),
        *text_cases(category, "slug"),
        *each(category, "parent_id", [0, 2, 2**63 - 1, None]),
        *each(category, "parent", [0, 5]),
        *each(category, "parent_id", [-1], "must be between 0 and 9223372036854775807"),
        *each(category, "parent_id", ["1", 1.5, True, 2**63], INTEGER),
        Case(category(parent_id=1), "parent_id: a category cannot be its own parent"),
        Case({"id": 7, "name": "self", "parent": 7}, "parent_id: a category cannot be its own parent"),
        Case(
            '{"wc_category_id": 1000, "name": "x", "parent_id": 1e3}', "parent_id: a category cannot be its own parent"
        ),
        *integer_cases(category, "product_count", 0, 2**31 - 1),
        *each(category, "count", [3]),
        *each(category, "count", [-1], "must be between 0 and 2147483647", named="product_count"),
        *each(category, "parent", ["5"], INTEGER, named="parent_id"),
    ],
    "orders": ORDER_CASES,
}

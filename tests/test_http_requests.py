"""Hostile and malformed requests: every one is a 4xx with a clear message, or a
clean skip of the bad record with its reason, never a 500; valid neighbours
in the same batch are stored. Also content types, body and batch limits
(Content-Length and chunked), 404/405 envelopes and /health.
"""

import hashlib
import json

import pytest

from service.batch.entities import ENTITIES

from http_helpers import assert_error, nothing_written, record, stored

# --- Bodies that are not a usable JSON object: 400 ---


@pytest.mark.parametrize(
    "body, code, words",
    [
        (b"", "invalid_json", "not valid JSON"),
        (b'{"products": [', "invalid_json", "not valid JSON"),
        (b'{"products": [{"wc_product_id": 1, "name": "trunc', "invalid_json", "not valid JSON"),
        (b"{products: []}", "invalid_json", "not valid JSON"),
        (b'{"products": [{"wc_product_id": 1, "name": "a"}]} trailing', "invalid_json", "not valid JSON"),
        (b'{"products": [{"wc_product_id": 1, "name": "a", "price": NaN}]}', "invalid_json", "NaN"),
        (b'{"products": [{"wc_product_id": 1, "name": "a", "price": Infinity}]}', "invalid_json", "Infinity"),
        (b'{"products": [{"wc_product_id": 1, "name": "a", "price": -Infinity}]}', "invalid_json", "Infinity"),
        # an exponent Decimal refuses
        (
            b'{"products": [{"wc_product_id": 1, "price": 1.5e99999999999999999999}]}',
            "invalid_json",
            "out of any range",
        ),
        (b'{"products": [{"wc_product_id": 1, "name": "caf\xe9 \xff\xfe"}]}', "invalid_json", "not valid JSON"),
        (b'{"products": [{"wc_product_id": 1, "name": "\xc3\x28"}]}', "invalid_json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json", "not valid JSON"),
        (b'{"products": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid_json", "not valid JSON"),
        (b'{"products" [' + b"0," * 5000 + b"0]}", "invalid_json", "not valid JSON"),  # read by the record count too
        (b"[]", "bad_request", "must be a JSON object"),
        (b'[{"products": []}]', "bad_request", "must be a JSON object"),
        (b"null", "bad_request", "must be a JSON object"),
        (b'"products"', "bad_request", "must be a JSON object"),
        (b"42", "bad_request", "must be a JSON object"),
    ],
    ids=lambda value: value[:40] if isinstance(value, bytes) else None,
)
@pytest.mark.gen_test
async def test_unusable_body_is_400(post, store, query, body, code, words):
    response = await post("/api/sync/products", body, store.token)
    assert words in assert_error(response, 400, code)
    nothing_written(query, store.id)


# --- Records with bad values: skipped with their reason, neighbours kept ---

BIG = "x" * (1024 * 1024)
INVALID = [
    # (entity, record, reported id, reason)
    ("products", {"wc_product_id": "2", "name": "string id"}, "2", "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": True, "name": "bool id"}, None, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": 0, "name": "zero"}, 0, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": -2, "name": "negative"}, -2, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": 2**63, "name": "huge"}, 2**63, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": 2.0, "name": "float"}, None, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": [2], "name": "list"}, None, "wc_product_id: must be a positive integer"),
    ("products", {"wc_product_id": 2, "name": 123}, 2, "name: must be a string"),
    ("products", {"wc_product_id": 2, "name": "   "}, 2, "name: must not be empty"),
    ("products", {"wc_product_id": 2, "name": BIG}, 2, "name: longer than 1000 characters"),
    ("products", {"wc_product_id": 2, "name": "a", "sku": BIG}, 2, "sku: longer than 1000 characters"),
    ("products", {"wc_product_id": 2, "name": "nul\u0000"}, 2, "text: must not contain NUL characters"),
    ("products", {"wc_product_id": 2, "name": "a", "sku": "\u0000"}, 2, "text: must not contain NUL characters"),
    ("products", {"wc_product_id": 2, "name": "lone \ud800"}, 2, "text: must be valid Unicode"),
    ("products", {"wc_product_id": 2, "name": "a", "price": "abc"}, 2, "price: must be a non-negative number"),
    ("products", {"wc_product_id": 2, "name": "a", "price": -1}, 2, "price: must be a non-negative number"),
    ("products", {"wc_product_id": 2, "name": "a", "price": "1e3"}, 2, "price: must be a non-negative number"),
    ("products", {"wc_product_id": 2, "name": "a", "price": True}, 2, "price: must be a non-negative number"),
    ("products", {"wc_product_id": 2, "name": "a", "stock_quantity": "5"}, 2, "stock_quantity: must be an integer"),
    ("products", {"wc_product_id": 2, "name": "a", "stock_quantity": 2**31}, 2, "stock_quantity: must be between"),
    ("products", {"wc_product_id": 2, "name": "a", "category_id": "10"}, 2, "category_id: must be a positive"),
    ("products", {"wc_product_id": 2, "name": "a", "categories": [{"name": "x"}]}, 2, "categories: every item"),
    ("products", {"wc_product_id": 2, "name": "a", "categories": {"id": 1}}, 2, "categories: must be a list"),
    ("products", {"wc_product_id": 2, "name": "a", "updated_at": "yesterday"}, 2, "updated_at: must be an ISO"),
    ("products", {"wc_product_id": 2, "name": "a", "updated_at": "2026-02-30"}, 2, "updated_at: must be an ISO"),
    ("products", {"wc_product_id": 2, "name": "a", "updated_at": 1767225600}, 2, "updated_at: must be an ISO"),
    ("customers", {"wc_customer_id": 2, "email": "not-an-email"}, 2, "email: must be an email address"),
    ("customers", {"wc_customer_id": 2, "email": 42}, 2, "email: must be a string"),
    ("customers", {"wc_customer_id": 2, "email": "a@b.c" + "x" * 300}, 2, "email: must be an email address"),
    ("customers", {"wc_customer_id": 2, "order_count": -1}, 2, "order_count: must be between"),
    ("customers", {"wc_customer_id": 2, "order_count": 1.5}, 2, "order_count: must be an integer"),
    ("customers", {"wc_customer_id": 2, "total_spent": "12,50"}, 2, "total_spent: must be a non-negative"),
    ("customers", {"wc_customer_id": 2, "display_name": ["x"]}, 2, "display_name: must be a string"),
    ("categories", {"wc_category_id": 2, "name": "a", "parent_id": "1"}, 2, "parent_id: must be an integer"),
    ("categories", {"wc_category_id": 2, "name": "a", "parent_id": -1}, 2, "parent_id: must be between"),
    ("categories", {"wc_category_id": 2, "name": "a", "parent_id": 2}, 2, "parent_id: a category cannot be"),
    ("categories", {"wc_category_id": 2, "name": "a", "product_count": True}, 2, "product_count: must be an"),
    ("categories", {"wc_category_id": 2, "name": {"en": "a"}}, 2, "name: must be a string"),
]


@pytest.mark.parametrize("entity, bad, reported_id, reason", INVALID, ids=[f"{e}-{r[:30]}" for e, _, _, r in INVALID])
@pytest.mark.gen_test
async def test_invalid_value_is_skipped_with_its_reason(post, store, query, entity, bad, reported_id, reason):
    batch = [record(entity, 1, "before"), bad, record(entity, 3, "after")]

    response = await post(f"/api/sync/{entity}", {entity: batch}, store.token)

    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    [error] = data["errors"]
    assert (error["index"], error["id"]) == (1, reported_id)
    assert error["reason"].startswith(reason), error
    assert (data["syncedCount"], data["skippedCount"]) == (2, 1)
    assert stored(query, entity, store.id) == {1: "before", 3: "after"}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b'{"wc_product_id": 2, "name": "a", "categories": [{"id": 5, "slug": 1e400}]}', id="1e400"),
        pytest.param(b'{"wc_product_id": 2, "name": "a", "categories": [{"id": 5, "a\\u0000b": 1}]}', id="nul-key"),
        pytest.param(
            b'{"wc_product_id": 2, "name": "a", "categories": [{"id": 5, "junk": '
            + b"[" * 600
            + b'"\\u0000"'
            + b"]" * 600
            + b"}]}",
            id="nul-deep",
        ),
    ],
)
@pytest.mark.gen_test
async def test_unusable_value_inside_a_products_categories_is_skipped(post, store, query, bad):
    body = b'{"products": [{"wc_product_id": 1, "name": "before"}, ' + bad + b"]}"

    response = await post("/api/sync/products", body, store.token)

    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    assert [(e["index"], e["id"]) for e in data["errors"]] == [(1, 2)]
    assert stored(query, "products", store.id) == {1: "before"}


@pytest.mark.gen_test
async def test_infinite_price_from_a_huge_exponent_is_skipped(post, store, query):
    body = b'{"products": [{"wc_product_id": 1, "name": "a", "price": 1e400}, {"wc_product_id": 2, "name": "b"}]}'
    response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert [e["index"] for e in json.loads(response.body)["data"]["errors"]] == [0]
    assert stored(query, "products", store.id) == {2: "b"}


@pytest.mark.gen_test
async def test_json_number_amounts_are_stored_exactly_as_sent(post, store, query):
    """No float on the way: each stored numeric prints as the literal sent."""
    body = (
        b'{"products": [{"wc_product_id": 1, "name": "a", "price": 999999999999999.99, '
        b'"regular_price": 12345678.123456789, "sale_price": 0.10}, '
        b'{"wc_product_id": 1.0, "name": "a Decimal is no id"}]}'
    )
    response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert [(e["index"], e["reason"]) for e in json.loads(response.body)["data"]["errors"]] == [
        (1, "wc_product_id: must be a positive integer")
    ]
    [row] = query(
        "SELECT price::text, regular_price::text, sale_price::text FROM products WHERE store_id = %s", (store.id,)
    )
    assert row == {"price": "999999999999999.99", "regular_price": "12345678.123456789", "sale_price": "0.10"}

    body = b'{"customers": [{"wc_customer_id": 1, "total_spent": 4999999.999999999999}]}'
    assert (await post("/api/sync/customers", body, store.token)).code == 200
    assert query("SELECT total_spent::text AS t FROM customers WHERE store_id = %s", (store.id,)) == [
        {"t": "4999999.999999999999"}
    ]

    # in an order and in its line items alike (WooCommerce sends a line item's price as a number)
    body = (
        b'{"orders": [{"id": 1, "status": "completed", "total": 54.970, "line_items": ['
        b'{"product_id": 5, "quantity": 3, "price": 8.333333333333333333, "total": 25.00, "junk": 1e400}]}]}'
    )
    assert (await post("/api/sync/orders", body, store.token)).code == 200
    assert query(
        "SELECT o.total::text AS o, i.price::text AS p, i.total::text AS t FROM orders o "
        "JOIN order_items i USING (store_id) WHERE o.store_id = %s",
        (store.id,),
    ) == [{"o": "54.970", "p": "8.333333333333333333", "t": "25.00"}]


@pytest.mark.gen_test
async def test_boundary_values_are_accepted(post, store, query):
    response = await post(
        "/api/sync/products",
        {
            "products": [
                {"wc_product_id": 2**63 - 1, "name": "n" * 1000, "price": 10**15, "stock_quantity": -(2**31)},
                {"wc_product_id": 1, "name": "é ✓ 😀", "price": "0", "sale_price": 0.5, "stock_quantity": 2**31 - 1},
            ]
        },
        store.token,
    )
    assert response.code == 200, response.body
    assert json.loads(response.body)["data"]["syncedCount"] == 2
    rows = query(
        "SELECT wc_product_id, name, price, stock_quantity FROM products WHERE store_id = %s ORDER BY wc_product_id",
        (store.id,),
    )
    assert [(r["wc_product_id"], r["name"], r["price"], r["stock_quantity"]) for r in rows] == [
        (1, "é ✓ 😀", 0, 2**31 - 1),
        (2**63 - 1, "n" * 1000, 10**15, -(2**31)),
    ]


# --- Injection-looking data is data ---

INJECTION = "x'); DROP TABLE products; --"


@pytest.mark.gen_test
async def test_sql_looking_text_is_stored_verbatim(post, store, query):
    email = "x');DROP/**/TABLE/**/customers;--@example.com"
    responses = [
        await post(
            "/api/sync/products",
            {
                "products": [
                    {
                        "wc_product_id": 1,
                        "name": INJECTION,
                        "sku": "'; SELECT pg_sleep(10); --",
                        "category_name": "$$; DROP TABLE categories; $$",
                    }
                ]
            },
            store.token,
        ),
        await post(
            "/api/sync/categories",
            {"categories": [{"wc_category_id": 1, "name": "Robert'); DROP TABLE stores;--", "slug": "\\'; --"}]},
            store.token,
        ),
        await post(
            "/api/sync/customers",
            {"customers": [{"wc_customer_id": 1, "email": email, "display_name": INJECTION}]},
            store.token,
        ),
    ]
    assert [r.code for r in responses] == [200, 200, 200]
    assert [json.loads(r.body)["data"]["syncedCount"] for r in responses] == [1, 1, 1]

    assert query("SELECT name, sku, category_name FROM products WHERE store_id = %s", (store.id,)) == [
        {"name": INJECTION, "sku": "'; SELECT pg_sleep(10); --", "category_name": "$$; DROP TABLE categories; $$"}
    ]
    assert query("SELECT name, slug FROM categories WHERE store_id = %s", (store.id,)) == [
        {"name": "Robert'); DROP TABLE stores;--", "slug": "\\'; --"}
    ]
    assert query("SELECT email_hash, display_name FROM customers WHERE store_id = %s", (store.id,)) == [
        {"email_hash": hashlib.sha256(email.lower().encode()).hexdigest(), "display_name": INJECTION}
    ]
    tables = query(
        "SELECT to_regclass('products') IS NOT NULL AND to_regclass('customers') IS NOT NULL "
        "AND to_regclass('categories') IS NOT NULL AND to_regclass('stores') IS NOT NULL AS ok"
    )
    assert tables == [{"ok": True}]


# --- What is ignored, and how duplicates read ---


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_unknown_fields_are_ignored(post, store, query, entity):
    extra = {
        "meta_data": [{"key": "_x", "value": {"deep": [1, None, "\u0000"]}}],
        "links": {"self": [{}]},
        "id_internal": 99,
        "synced_at": "1999-01-01",
        "unknown": float("1e308"),
    }
    body = {entity: [record(entity, 1, "kept", **extra)], "extra_top_level": [1, 2]}
    response = await post(f"/api/sync/{entity}", body, store.token)
    assert response.code == 200, response.body
    assert json.loads(response.body)["data"]["syncedCount"] == 1
    assert stored(query, entity, store.id) == {1: "kept"}


@pytest.mark.gen_test
async def test_the_spec_field_wins_over_its_woocommerce_alias(post, store, query):
    response = await post(
        "/api/sync/products",
        {
            "products": [
                {
                    "wc_product_id": 1,
                    "id": 999,
                    "name": "a",
                    "updated_at": "2026-01-02T00:00:00Z",
                    "date_modified_gmt": "2020-01-01T00:00:00",
                }
            ]
        },
        store.token,
    )
    assert response.code == 200, response.body
    rows = query("SELECT wc_product_id, updated_at::text AS u FROM products WHERE store_id = %s", (store.id,))
    assert [(r["wc_product_id"], r["u"][:10]) for r in rows] == [(1, "2026-01-02")]


@pytest.mark.gen_test
async def test_duplicate_json_keys_read_as_the_last_one(post, store, query):
    body = (
        b'{"products": [{"wc_product_id": 9, "name": "discarded batch"}], '
        b'"products": [{"wc_product_id": 1, "name": "first", "name": "second", "price": "x", "price": "2.5"}]}'
    )
    response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert query("SELECT wc_product_id, name, price FROM products WHERE store_id = %s", (store.id,)) == [
        {"wc_product_id": 1, "name": "second", "price": 2.5}
    ]


# --- Content type ---


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "application/jsonx",
        "text/json",
        "multipart/form-data; boundary=x",
    ],
)
@pytest.mark.gen_test
async def test_other_content_types_are_415(post, store, query, content_type):
    response = await post(
        "/api/sync/products", {"products": [record("products", 1)]}, store.token, headers={"Content-Type": content_type}
    )
    assert "application/json" in assert_error(response, 415, "unsupported_media_type")
    nothing_written(query, store.id)


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=iso-8859-1", "application/json; charset=utf-16", 'application/json; charset="latin1"'],
)
@pytest.mark.gen_test
async def test_charsets_other_than_utf8_are_415(post, store, query, content_type):
    response = await post(
        "/api/sync/products",
        '{"products": [{"wc_product_id": 1, "name": "caf\xe9"}]}'.encode("latin-1"),
        store.token,
        headers={"Content-Type": content_type},
    )
    assert "utf-8" in assert_error(response, 415, "unsupported_media_type")
    nothing_written(query, store.id)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
@pytest.mark.gen_test
async def test_json_content_type_with_parameters_is_accepted(post, store, query, content_type):
    response = await post(
        "/api/sync/products", {"products": [record("products", 1)]}, store.token, headers={"Content-Type": content_type}
    )
    assert response.code == 200, response.body
    assert stored(query, "products", store.id) == {1: "x"}


# --- Limits ---

LIMIT = 2048


def body_of_size(size):
    """A valid products body of exactly size bytes: records 1, 2, ... with names of at most 600 chars."""
    records, n = [], 1
    while True:
        head = b'{"products": [' + b", ".join(records) + (b", " if records else b"")
        record_head, tail = b'{"wc_product_id": %d, "name": "' % n, b'"}]}'
        room = size - len(head) - len(record_head) - len(tail)
        if room <= 600:
            return head + record_head + b"n" * room + tail
        records.append(record_head + b"n" * 600 + b'"}')
        n += 1


async def send_chunked(http_client, base_url, token, body, chunk=512):
    async def producer(write):
        for start in range(0, len(body), chunk):
            await write(body[start : start + chunk])

    return await http_client.fetch(
        base_url + "/api/sync/products",
        method="POST",
        body_producer=producer,
        raise_error=False,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("config", [{"max_body_bytes": LIMIT}], indirect=True)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.gen_test
async def test_body_over_the_limit_is_413(post, store, query, http_client, base_url, config, chunked):
    oversize = body_of_size(LIMIT + 1)
    assert len(oversize) == LIMIT + 1
    if chunked:
        response = await send_chunked(http_client, base_url, store.token, oversize)
    else:
        response = await post("/api/sync/products", oversize, store.token)

    assert str(LIMIT) in assert_error(response, 413, "payload_too_large")
    nothing_written(query, store.id)


@pytest.mark.parametrize("config", [{"max_body_bytes": LIMIT}], indirect=True)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.gen_test
async def test_body_at_the_limit_is_accepted(post, store, query, http_client, base_url, config, chunked):
    body = body_of_size(LIMIT)
    assert len(body) == LIMIT
    if chunked:
        response = await send_chunked(http_client, base_url, store.token, body)
    else:
        response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert set(stored(query, "products", store.id)) == {1, 2, 3, 4}


@pytest.mark.parametrize(
    "body",
    [
        b'{"products": [' + b",".join([b"{}"] * 6) + b"]}",
        b' { "other" : [1, {"a": [2, 3]}, "x,y"] , "products" :\n[ {} , [] ,0,"s", null, {"b": [{}, {}]} ] } ',
        b'{"products": [], "products": [{}, {}, {}, {}, {}, {}]}',
    ],
    ids=["objects", "spaced-and-mixed", "duplicate-key"],
)
@pytest.mark.parametrize("config", [{"max_batch_records": 5}], indirect=True)
@pytest.mark.gen_test
async def test_batch_over_the_record_limit_is_413_whatever_its_items(post, store, query, config, body):
    response = await post("/api/sync/products", body, store.token)
    assert "at most 5 records" in assert_error(response, 413, "batch_too_large")
    nothing_written(query, store.id)


@pytest.mark.parametrize(
    "body",
    [
        b' { "other" : [1, 2, 3, 4, 5, 6, 7] , "products" :\n[ {} , [] ,0,"s,,,,,,", {"b": [{}, {}]} ] } ',
        b'{"products": [], "products": [1, 2, 3, 4, 5]}',
    ],
    ids=["commas-elsewhere", "duplicate-key"],
)
@pytest.mark.parametrize("config", [{"max_batch_records": 5}], indirect=True)
@pytest.mark.gen_test
async def test_batch_at_the_record_limit_is_not_413_whatever_the_commas(post, store, query, config, body):
    response = await post("/api/sync/products", body, store.token)
    assert response.code == 200, response.body
    assert json.loads(response.body)["data"]["skippedCount"] == 5


@pytest.mark.parametrize("config", [{"max_batch_records": 5}], indirect=True)
@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"products": [{"id": 1, "name": "x"}]}).encode("utf-16"),  # json.loads alone would read it
        # in a field the service does not read, which msgspec skips without decoding
        b'{"products": [{"id": 1, "name": "Caf\xc3\xa9", "description": "\xff"}]}',
        b'{"products": [{"id": 1, "name": "x", "\xed\xa0\x80": 1}]}',  # a surrogate, in a key
        b'{"products": [{"id": 1, "name": "\xc0\xaf"}]}',  # an overlong "/"
    ],
)
@pytest.mark.gen_test
async def test_a_body_not_in_utf8_is_invalid_json(post, store, query, config, body):
    response = await post("/api/sync/products", body, store.token)
    assert "not UTF-8" in assert_error(response, 400, "invalid_json")
    nothing_written(query, store.id)


@pytest.mark.parametrize("config", [{"max_batch_records": 5}], indirect=True)
@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_batch_over_the_record_limit_is_413(post, store, query, config, entity):
    response = await post(f"/api/sync/{entity}", {entity: [record(entity, n) for n in range(1, 7)]}, store.token)
    assert "at most 5 records" in assert_error(response, 413, "batch_too_large")
    nothing_written(query, store.id)

    response = await post(f"/api/sync/{entity}", {entity: [record(entity, n) for n in range(1, 6)]}, store.token)
    assert response.code == 200, response.body
    assert len(stored(query, entity, store.id)) == 5


def test_default_limits_are_the_documented_ones(config):
    assert (config.max_body_bytes, config.max_batch_records, config.max_reported_errors) == (
        10 * 1024 * 1024,
        5000,
        100,
    )


# --- Routes ---


@pytest.mark.parametrize("path", ["/api/sync/coupons", "/api/sync/products/1", "/api/sync", "/", "/api/sync/Products"])
@pytest.mark.gen_test
async def test_unknown_path_is_404(post, store, query, path):
    response = await post(path, {"products": [record("products", 1)]}, store.token)
    assert_error(response, 404, "not_found")
    nothing_written(query, store.id)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.gen_test
async def test_other_methods_on_a_sync_route_are_405(http_client, base_url, store, query, method):
    body = json.dumps({"products": [record("products", 1)]}) if method in ("PUT", "PATCH") else None
    response = await http_client.fetch(
        base_url + "/api/sync/products",
        method=method,
        body=body,
        raise_error=False,
        allow_nonstandard_methods=True,
        headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
    )
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
    nothing_written(query, store.id)


@pytest.mark.gen_test
async def test_health(http_client, base_url):
    response = await http_client.fetch(base_url + "/health", raise_error=False)
    assert response.code == 200
    assert json.loads(response.body) == {"success": True, "data": {"status": "ok", "database": "ok"}}
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("GET", "/health", {}),
        ("GET", "/no/such/path", {}),
        ("POST", "/api/sync/products", {}),  # no token: 401
        ("POST", "/api/sync/products", {"Authorization": "Bearer x", "Content-Encoding": "br"}),
    ],
)
@pytest.mark.gen_test
async def test_no_answer_names_the_server_software(http_client, base_url, method, path, headers):
    body = b"{}" if method == "POST" else None
    response = await http_client.fetch(base_url + path, method=method, body=body, headers=headers, raise_error=False)
    assert response.code < 500
    assert "Server" not in response.headers

"""What the service logs, captured at DEBUG for every logger.

Each skipped record is logged with its batch index, WooCommerce id and
reason; no log record ever holds a customer's email or the bearer token,
whether the batch is valid, partly invalid or refused (401).
"""

import json
import logging
import re

import pytest

from service.batch.entities import ENTITIES
from service.http.auth import hash_token

from raw_http import exchange, head


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def everything_logged(caplog):
    """All text of every captured record: message, arguments, exception."""
    texts = []
    for rec in caplog.records:
        texts += [rec.getMessage(), repr(rec.args), rec.msg if isinstance(rec.msg, str) else repr(rec.msg)]
        if rec.exc_info:
            texts.append(logging.Formatter().formatException(rec.exc_info))
    return "\n".join(texts)


def skip_lines(caplog, entity):
    return [
        rec.getMessage()
        for rec in caplog.records
        if rec.name == "wcsync.http" and f" {entity} record(s)" in rec.getMessage()
    ]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_skipped_records_are_logged_in_one_line_with_counts_and_the_first_reasons(post, store, logs, entity):
    id_field, name = ENTITIES[entity].id_field, ENTITIES[entity].value_field
    batch = [
        {id_field: 1, name: "ok"},
        {id_field: 7, name: "x", "updated_at": "never"}
        if entity != "categories"
        else {id_field: 7, name: "x", "parent_id": "1"},
        {name: "no id"},
        {id_field: "abc", name: "x"},
        {id_field: 2, name: "ok"},
        {id_field: 0, name: "x"},
    ]
    response = await post(f"/api/sync/{entity}", {entity: batch}, store.token)
    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    errors = data["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3, 5]

    [line] = skip_lines(logs, entity)
    assert line.startswith(f"skipped 4 of 6 {entity} record(s): store={store.id} sync_log={data['syncLogId']}")
    named = [
        f"index={e['index']} id={e['id'] if isinstance(e['id'], int) else None} reason={e['reason']}" for e in errors
    ]
    assert line.endswith("first: " + "; ".join(named[:3])), line  # the first three, not the fourth
    assert [rec.levelno for rec in logs.records if rec.getMessage() == line] == [logging.WARNING]


@pytest.mark.gen_test
async def test_a_batch_of_5000_invalid_records_writes_one_warning(post, store, logs):
    response = await post("/api/sync/products", {"products": [{"wc_product_id": -n} for n in range(5000)]}, store.token)
    assert json.loads(response.body)["data"]["skippedCount"] == 5000
    warnings = [rec for rec in logs.records if rec.levelno >= logging.WARNING]
    assert len(warnings) == 1, len(warnings)
    assert warnings[0].getMessage().startswith("skipped 5000 of 5000 products record(s)")


EMAILS = ["alice.smith@example.com", "Bob.Jones@Example.org", "carol@example.net", "dave@example.com"]


@pytest.mark.gen_test
async def test_no_email_or_token_is_ever_logged_during_a_customer_sync(post, store, logs, query):
    batch = [
        {"wc_customer_id": 1, "email": EMAILS[0], "display_name": "Alice"},
        {"wc_customer_id": 2, "email": "not-an-email"},
        {"wc_customer_id": EMAILS[1], "email": EMAILS[1]},  # an email where the id belongs
        {"id": EMAILS[2]},
        {"wc_customer_id": 5, "email": EMAILS[3] + "\n"},  # a newline is not trimmed: not an address
        {"wc_customer_id": 6, "email": ["x@example.com"]},
        {"wc_customer_id": 7, "email": "eve@example.com", "order_count": -1},
        {"wc_customer_id": 8, "email": "   "},
    ]
    response = await post("/api/sync/customers", {"customers": batch}, store.token)
    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    assert data["skippedCount"] == 6 and data["syncedCount"] == 2, data
    [line] = skip_lines(logs, "customers")  # the skips were logged, and are checked below
    assert line.startswith("skipped 6 of 8 customers record(s)")

    logged = everything_logged(logs).lower()
    for secret in EMAILS + ["not-an-email", "x@example.com", "eve@example.com"]:
        assert secret.lower() not in logged, secret
    for email in EMAILS:  # distinctive local parts, not even partly
        assert email.split("@")[0].lower() not in logged, email
    assert not re.search(r"[^\s=@]+@[^\s@]+\.[a-z]+", logged), "something that looks like an email was logged"
    assert store.token.lower() not in logged
    assert hash_token(store.token) not in logged


@pytest.mark.gen_test
async def test_no_buyer_detail_is_ever_logged_during_an_order_sync(post, store, logs, query):
    billing = {
        "first_name": "Zebulon",
        "last_name": "Quartermaine",
        "address_1": "12 Nightingale Lane",
        "phone": "+44 20 7946 0958",
        "email": EMAILS[0],
        "country": "GB",
    }
    batch = [
        {
            "id": 1,
            "status": "completed",
            "billing": billing,
            "customer_ip_address": "203.0.113.99",
            "line_items": [{"product_id": 5, "quantity": 1}],
        },
        {"id": 2, "status": "completed", "billing": {**billing, "email": EMAILS[1] + " x"}},  # not an address
        {
            "id": 3,
            "status": "completed",
            "billing": billing,
            "line_items": [{"product_id": 5, "quantity": 1, "name": EMAILS[2], "total": EMAILS[3]}],
        },
    ]
    response = await post("/api/sync/orders", {"orders": batch}, store.token)
    assert response.code == 200, response.body
    [line] = skip_lines(logs, "orders")
    assert line.startswith("skipped 2 of 3 orders record(s)")

    logged = everything_logged(logs).lower()
    for secret in EMAILS + ["zebulon", "quartermaine", "nightingale", "7946", "203.0.113.99"]:
        assert secret.lower() not in logged, secret
    assert not re.search(r"[^\s=@]+@[^\s@]+\.[a-z]+", logged), "something that looks like an email was logged"


@pytest.mark.parametrize("authorization", ["Bearer {token}", "Basic {token}", "{token}"])
@pytest.mark.gen_test
async def test_no_token_is_logged_on_a_401(post, store, logs, query, authorization):
    query("SELECT revoke_api_token(%s)", (hash_token(store.token),))
    response = await post(
        "/api/sync/customers",
        {"customers": [{"wc_customer_id": 1, "email": EMAILS[0]}]},
        headers={"Authorization": authorization.format(token=store.token)},
    )
    assert response.code == 401
    assert logs.records, "the request was not logged at all"
    logged = everything_logged(logs)
    assert store.token not in logged and hash_token(store.token) not in logged
    assert EMAILS[0] not in logged


@pytest.mark.gen_test
async def test_the_access_log_holds_the_path_without_its_query_string(http_client, base_url, store, logs):
    secret = "wcs_secret-in-the-query"
    response = await http_client.fetch(
        f"{base_url}/api/sync/products?access_token={secret}&email=a%40b.c",
        method="POST",
        body="{}",
        raise_error=False,
        headers={"Authorization": f"Bearer {store.token}"},
    )
    assert response.code == 415
    [line] = [rec.getMessage() for rec in logs.records if rec.name == "tornado.access"]
    assert line.startswith("415 POST /api/sync/products (")
    assert secret not in everything_logged(logs) and "a%40b.c" not in everything_logged(logs)


@pytest.mark.gen_test
async def test_a_malformed_header_is_logged_without_its_value(http_server, http_port, logs):
    token = "wcs_never-logged-token"
    status, _, _ = await exchange(
        http_port, head("POST", "/api/sync/products", {"Authorization": f"Bearer {token}\x01", "Content-Length": "2"})
    )
    assert status == 400
    [line] = [rec.getMessage() for rec in logs.records if rec.getMessage().startswith("Malformed HTTP message")]
    assert line.endswith(": Invalid header value")
    assert token not in everything_logged(logs)


@pytest.mark.gen_test
async def test_an_unexpected_error_is_logged_without_the_request_or_the_message(
    http_client, base_url, app, store, logs, io_loop
):
    """A closed pool makes the handler fail with an error the service does not expect (a RuntimeError
    from aiopg); Tornado's own log would print the request, Authorization header and query string."""
    secret = "wcs_secret-in-the-query"
    app.pool.close()
    response = await http_client.fetch(
        f"{base_url}/api/sync/products?access_token={secret}",
        method="POST",
        body=json.dumps({"products": []}),
        raise_error=False,
        headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
    )
    assert (response.code, json.loads(response.body)["error"]["code"]) == (500, "internal_error")
    [line] = [rec.getMessage() for rec in logs.records if rec.getMessage().startswith("uncaught")]
    assert line.startswith("uncaught RuntimeError in POST /api/sync/products\n")
    logged = everything_logged(logs)
    assert secret not in logged and store.token not in logged

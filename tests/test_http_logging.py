"""What the service logs, captured at DEBUG for every logger.

Each skipped record is logged with its batch index, WooCommerce id and
reason; no log record ever holds a customer's email or the bearer token,
whether the batch is valid, partly invalid or refused (401).
"""
import json
import logging
import re

import pytest

from service.auth import hash_token
from service.entities import ENTITIES
from http_helpers import NAME_COLUMN


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
    return [rec.getMessage() for rec in caplog.records
            if rec.name == "wcsync.http" and rec.getMessage().startswith(f"skipped {entity} record")]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.gen_test
async def test_each_skipped_record_is_logged_with_index_id_and_reason(post, store, logs, entity):
    id_field, name = ENTITIES[entity].id_field, NAME_COLUMN[entity]
    batch = [
        {id_field: 1, name: "ok"},
        {id_field: 7, name: "x", "updated_at": "never"} if entity != "categories" else
        {id_field: 7, name: "x", "parent_id": "1"},
        {name: "no id"},
        {id_field: "abc", name: "x"},
        {id_field: 2, name: "ok"},
    ]
    response = await post(f"/api/sync/{entity}", {entity: batch}, store.token)
    assert response.code == 200, response.body
    errors = json.loads(response.body)["data"]["errors"]
    assert [e["index"] for e in errors] == [1, 2, 3]

    lines = skip_lines(logs, entity)
    assert len(lines) == 3, lines
    for line, error in zip(lines, errors):
        logged_id = error["id"] if isinstance(error["id"], int) else None
        assert f"store={store.id}" in line
        assert f"index={error['index']} id={logged_id} reason={error['reason']}" in line, (line, error)
    assert [rec.levelno for rec in logs.records if rec.getMessage() in lines] == [logging.WARNING] * 3


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
    assert len(skip_lines(logs, "customers")) == 6  # the skips were logged, and are checked below

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
    billing = {"first_name": "Zebulon", "last_name": "Quartermaine", "address_1": "12 Nightingale Lane",
               "phone": "+44 20 7946 0958", "email": EMAILS[0], "country": "GB"}
    batch = [
        {"id": 1, "status": "completed", "billing": billing, "customer_ip_address": "203.0.113.99",
         "line_items": [{"product_id": 5, "quantity": 1}]},
        {"id": 2, "status": "completed", "billing": {**billing, "email": EMAILS[1] + " x"}},  # not an address
        {"id": 3, "status": "completed", "billing": billing,
         "line_items": [{"product_id": 5, "quantity": 1, "name": EMAILS[2], "total": EMAILS[3]}]},
    ]
    response = await post("/api/sync/orders", {"orders": batch}, store.token)
    assert response.code == 200, response.body
    assert len(skip_lines(logs, "orders")) == 2

    logged = everything_logged(logs).lower()
    for secret in EMAILS + ["zebulon", "quartermaine", "nightingale", "7946", "203.0.113.99"]:
        assert secret.lower() not in logged, secret
    assert not re.search(r"[^\s=@]+@[^\s@]+\.[a-z]+", logged), "something that looks like an email was logged"


@pytest.mark.parametrize("authorization", ["Bearer {token}", "Basic {token}", "{token}"])
@pytest.mark.gen_test
async def test_no_token_is_logged_on_a_401(post, store, logs, query, authorization):
    query("SELECT revoke_api_token(%s)", (hash_token(store.token),))
    response = await post("/api/sync/customers", {"customers": [{"wc_customer_id": 1, "email": EMAILS[0]}]},
                          headers={"Authorization": authorization.format(token=store.token)})
    assert response.code == 401
    assert logs.records, "the request was not logged at all"
    logged = everything_logged(logs)
    assert store.token not in logged and hash_token(store.token) not in logged
    assert EMAILS[0] not in logged

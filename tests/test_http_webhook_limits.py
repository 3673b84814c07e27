"""What an unauthenticated webhook delivery may cost: a URL of no store is 404 before its body is
read; a body past WEBHOOK_MAX_BODY_BYTES is 413 at once; the bodies not yet verified share the
process's WEBHOOK_BODY_BUDGET_BYTES (503 past it), given back however their request ends."""

import asyncio
import logging
import uuid

import pytest
from test_http_limits import until

from http_helpers import signature
from raw_http import error_code, exchange, head, parse

TEN_MIB = 10 * 1024 * 1024
BUDGET = {"webhook_body_budget_bytes": 1000}


@pytest.fixture
def port(http_server, http_port):
    return http_port


def delivery_head(store_id, length, signature_header="none"):
    return head(
        "POST",
        f"/api/webhooks/woocommerce/{store_id}",
        {
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "product.updated",
            "X-WC-Webhook-Signature": signature_header,
            "Content-Length": str(length),
            "Connection": "close",  # the answer read to the end: raw_http.exchange
        },
    )


async def started(port, store_id, length, first_part, app, signature_header="none"):
    """A delivery whose headers and first part of the body are sent, once the server holds that part."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    held = app.unverified_webhook_bodies.held
    writer.write(delivery_head(store_id, length, signature_header) + first_part)
    await writer.drain()
    await until(lambda: app.unverified_webhook_bodies.held >= held + len(first_part))
    return reader, writer


async def answer(reader, writer):
    try:
        return parse(await asyncio.wait_for(reader.read(), 5))
    finally:
        writer.close()


def counted(app, name):
    return app.metrics.registry.get_sample_value(name) or 0


@pytest.mark.gen_test
async def test_a_url_of_no_store_is_404_before_the_body_is_read(port, make_store):
    # Only the headers are sent, announcing 10 MiB: the answer comes without the body.
    for store_id in (uuid.uuid4(), "not-a-store", make_store().id):
        status, _, body = await exchange(port, delivery_head(store_id, TEN_MIB))
        assert (status, error_code(body)) == (404, "not_found")


@pytest.mark.gen_test
async def test_a_body_past_the_webhook_limit_is_413_at_once(port, webhook_store, config, app):
    store, _ = webhook_store()
    for length in (config.webhook_max_body_bytes + 1, TEN_MIB):
        status, _, body = await exchange(port, delivery_head(store.id, length))
        assert (status, error_code(body)) == (413, "payload_too_large")


@pytest.mark.gen_test
@pytest.mark.parametrize("config", [BUDGET], indirect=True)
async def test_a_delivery_past_the_budget_is_503_until_one_finishes(port, webhook_store, app, caplog):
    store, secret = webhook_store()
    body = b'{"id": 1, "name": "Padded"}'.ljust(800)
    first = await started(port, store.id, len(body), body[:600], app, signature(secret, body))
    # The second's 600 bytes would pass the budget of 1000: refused mid-body, logged, counted.
    second = await started(port, store.id, len(body), b"", app)
    second[1].write(body[:600])
    status, headers, answered = await answer(*second)
    assert (status, error_code(answered), headers["Retry-After"]) == (503, "service_unavailable", "5")
    assert counted(app, "wcsync_webhook_bodies_refused_total") == 1
    assert "webhook delivery refused with 503" in caplog.text
    assert app.unverified_webhook_bodies.held == 600

    first[1].write(body[600:])
    status, _, answered = await answer(*first)
    assert status == 200 and answered["data"]["outcome"] == "applied"
    assert app.unverified_webhook_bodies.held == 0
    # Its share given back, a delivery as large is taken whole.
    status, _, answered = await exchange(port, delivery_head(store.id, len(body)) + body)
    assert (status, error_code(answered)) == (401, "unauthorized")
    assert app.unverified_webhook_bodies.held == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("config", [BUDGET], indirect=True)
async def test_a_client_gone_mid_body_gives_its_share_back(port, webhook_store, app, caplog):
    caplog.set_level(logging.WARNING)
    store, _ = webhook_store()
    _, writer = await started(port, store.id, 800, b" " * 600, app)
    writer.close()
    await until(lambda: app.unverified_webhook_bodies.held == 0)
    assert counted(app, "wcsync_webhook_bodies_abandoned_total") == 1
    assert "webhook delivery abandoned by its client mid-body" in caplog.text
    status, _, answered = await exchange(port, delivery_head(store.id, 800) + b" " * 800)
    assert (status, error_code(answered)) == (401, "unauthorized")

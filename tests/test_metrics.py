"""GET /metrics: Prometheus' text format, read back with prometheus_client's own parser."""

import asyncio
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from http_helpers import assert_error, blocked_batch_pid, record


@pytest.fixture
def scrape(http_client, base_url):
    """await scrape(token=None) -> {(sample name, frozenset of labels): value}."""

    async def get(token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await http_client.fetch(base_url + "/metrics", headers=headers)
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.body.decode())
            for sample in family.samples
        }

    return get


def moved(before, after, name, **labels):
    key = (name, frozenset(labels.items()))
    return after.get(key, 0) - before.get(key, 0)


@pytest.mark.gen_test
async def test_counters_move_by_exactly_what_was_sent(post, store, scrape):
    before = await scrape()
    products = [record("products", 1), record("products", 2), record("products", 3), {"wc_product_id": -1}]
    assert (await post("/api/sync/products", {"products": products}, store.token)).code == 200
    newer = record("customers", 7, updated_at="2026-03-01T00:00:00Z")
    older = record("customers", 7, updated_at="2026-01-01T00:00:00Z")
    assert (await post("/api/sync/customers", {"customers": [newer]}, store.token)).code == 200
    assert (await post("/api/sync/customers", {"customers": [older]}, store.token)).code == 200
    assert_error(await post("/api/sync/products", {"products": []}, "wcs_unknown"), 401, "unauthorized")
    assert_error(await post("/nowhere/7", {}), 404, "not_found")
    after = await scrape()

    assert moved(before, after, "wcsync_records_total", entity="products", outcome="synced") == 3
    assert moved(before, after, "wcsync_records_total", entity="products", outcome="skipped") == 1
    assert moved(before, after, "wcsync_records_total", entity="customers", outcome="synced") == 1
    assert moved(before, after, "wcsync_records_total", entity="customers", outcome="unchanged") == 1
    assert moved(before, after, "wcsync_records_total", entity="customers", outcome="skipped") == 0
    assert moved(before, after, "wcsync_batch_duration_seconds_count", entity="products") == 1
    assert moved(before, after, "wcsync_batch_duration_seconds_count", entity="customers") == 2
    assert moved(before, after, "wcsync_batch_duration_seconds_sum", entity="products") > 0
    requests = {
        (dict(labels)["route"], dict(labels)["status"]): value - before.get((name, labels), 0)
        for (name, labels), value in after.items()
        if name == "wcsync_http_requests_total"
    }
    assert requests == {
        ("/api/sync/products", "200"): 1,
        ("/api/sync/products", "401"): 1,
        ("/api/sync/customers", "200"): 2,
        ("unmatched", "404"): 1,
        ("/metrics", "200"): 1,  # the first scrape, counted once answered
    }


@pytest.mark.gen_test
async def test_no_label_holds_a_store_id_token_email_or_raw_path(post, store, scrape):
    customer = record("customers", 1, email="alice@example.com")
    assert (await post("/api/sync/customers", {"customers": [customer]}, store.token)).code == 200
    assert (await post(f"/api/sync/runs/{store.id}", {}, store.token)).code == 405
    values = {value for _, labels in await scrape() for _, value in labels}
    assert "/api/sync/runs/{runId}" in values
    for secret in (store.id, store.token, "alice", "@"):
        assert not any(secret in value for value in values), secret


@pytest.mark.parametrize("config", [{"metrics_token": "metrics-secret"}], indirect=True)
@pytest.mark.gen_test
async def test_metrics_token_is_required_when_set(http_client, base_url, scrape):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "metrics-secret"}):
        response = await http_client.fetch(base_url + "/metrics", headers=headers, raise_error=False)
        assert_error(response, 401, "unauthorized")
    assert ("wcsync_batches_in_flight", frozenset()) in await scrape("metrics-secret")


@pytest.mark.parametrize("config", [{"pool_size": 1}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_pool_use_waits_and_batches_in_flight(post, store, query, scrape, hold_store_row):
    """A batch holds the pool's one connection, waiting on a lock; the next request waits for it."""
    release = hold_store_row(store.id)
    held = asyncio.ensure_future(post("/api/sync/categories", {"categories": [record("categories", 1)]}, store.token))
    await blocked_batch_pid(query, "upsert_categories")
    waiting = asyncio.ensure_future(
        post("/api/sync/categories", {"categories": [record("categories", 2)]}, store.token)
    )
    for _ in range(500):
        metrics = await scrape()
        if metrics[("wcsync_db_pool_waiting", frozenset())] == 1:
            break
        await asyncio.sleep(0.02)
    assert metrics[("wcsync_db_pool_waiting", frozenset())] == 1
    assert metrics[("wcsync_db_pool_connections", frozenset({("state", "in_use")}))] == 1
    assert metrics[("wcsync_db_pool_max", frozenset())] == 1
    assert metrics[("wcsync_batches_in_flight", frozenset())] == 1  # the other waits to be authenticated
    release()
    assert [json.loads((await answer).body)["data"]["syncedCount"] for answer in (held, waiting)] == [1, 1]
    metrics = await scrape()
    assert metrics[("wcsync_db_pool_waiting", frozenset())] == 0
    assert metrics[("wcsync_batches_in_flight", frozenset())] == 0

"""Full sync runs over real HTTP and PostgreSQL: the plugin's sequence of calls, and its refusals.

Start a run, send numbered batches with X-Sync-Run / X-Sync-Batch (a failed
one re-sent), read its progress, complete it: the rows the store no longer
has are marked deleted, nothing else. The SQL functions' own cases are in
tests/test_sql_sync_runs.py, the bodies the run routes refuse in tests/test_http_run_bodies.py.
"""

import json

import pytest
from psycopg2 import sql

from http_helpers import assert_error, record
from sql_helpers import deleted_ids, failing_trigger, rows


@pytest.fixture
def get(http_client, base_url):
    """await get(path, token) -> response (never raises on status)."""

    async def send(path, token):
        return await http_client.fetch(base_url + path, headers={"Authorization": f"Bearer {token}"}, raise_error=False)

    return send


def data(response, status=200):
    assert response.code == status, response.body
    body = json.loads(response.body)
    assert body["success"] is True
    return body["data"]


def refusal(response, status, code):
    """The error envelope with its details: (message, details or None)."""
    assert response.code == status, response.body
    error = json.loads(response.body)["error"]
    assert error["code"] == code and error["message"] and set(error) <= {"code", "message", "details"}
    return error["message"], error.get("details")


async def start(post, store, entities=("products",), expected=None):
    body = {"entities": list(entities), **({"expected": expected} if expected is not None else {})}
    return data(await post("/api/sync/runs", body, store.token), 201)["runId"]


async def send(post, store, run_id, number, records, entity="products"):
    return await post(
        f"/api/sync/{entity}", {entity: records}, store.token, {"X-Sync-Run": run_id, "X-Sync-Batch": str(number)}
    )


async def seed(post, store, ids, entity="products"):
    assert (await post(f"/api/sync/{entity}", {entity: [record(entity, n) for n in ids]}, store.token)).code == 200


@pytest.mark.gen_test
async def test_the_plugins_sequence_with_a_failed_batch_resent(post, get, make_store, query):
    store, other = make_store(), make_store()
    await seed(post, store, range(1, 8))
    await seed(post, store, [1, 2], "customers")
    await seed(post, other, range(1, 8))

    response = await post("/api/sync/runs", {"entities": ["products"], "expected": {"products": 5}}, store.token)
    run = data(response, 201)
    assert (run["status"], run["entities"]["products"]["progress"]) == ("running", 0)
    run_id = run["runId"]
    # Batch 1 carries 1, 2 and 3, whose name is invalid: skipped here, but the store has it.
    assert (
        data(
            await send(
                post, store, run_id, 1, [record("products", 1), record("products", 2), record("products", 3, "")]
            )
        )["skippedCount"]
        == 1
    )
    with failing_trigger(query, "products", store.id):
        assert_error(
            await send(post, store, run_id, 2, [record("products", 4), record("products", 5)]), 500, "sync_failed"
        )
    progress = data(await get(f"/api/sync/runs/{run_id}", store.token))["entities"]["products"]
    assert (progress["failedBatches"], progress["recordsReceived"], progress["progress"]) == ([2], 5, 1)
    assert data(await send(post, store, run_id, 2, [record("products", 4)]))["syncedCount"] == 1

    response = await post(f"/api/sync/runs/{run_id}/complete", {"batches": {"products": 2}}, store.token)

    run = data(response)
    assert (run["status"], run["deleted"], run["batches"]) == ("completed", {"products": 3}, {"products": 2})
    assert run["entities"]["products"] == {
        "batchesReceived": 2,
        "recordsReceived": 4,
        "recordsSynced": 3,
        "recordsUnchanged": 0,
        "recordsSkipped": 1,
        "failedBatches": [],
        "runningBatches": [],
        "expected": 5,
        "progress": 0.8,
    }
    assert deleted_ids(query, "products", store.id) == [5, 6, 7]
    assert deleted_ids(query, "customers", store.id) == [] and deleted_ids(query, "products", other.id) == []

    # A deleted product sent again is live again.
    assert data(await post("/api/sync/products", {"products": [record("products", 6)]}, store.token))
    assert deleted_ids(query, "products", store.id) == [5, 7]


@pytest.mark.gen_test
async def test_a_run_with_a_missing_or_failed_batch_cannot_complete_and_says_which(post, store, query):
    await seed(post, store, [1])
    run_id = await start(post, store, ["products", "customers"])
    await send(post, store, run_id, 1, [])
    with failing_trigger(query, "products", store.id):
        await send(post, store, run_id, 3, [record("products", 1)])
    await send(post, store, run_id, 1, [], "customers")

    response = await post(
        f"/api/sync/runs/{run_id}/complete", {"batches": {"products": 3, "customers": 1}}, store.token
    )

    message, details = refusal(response, 409, "run_incomplete")
    assert message.endswith("products batches missing 2; failed 3")
    assert details == {"batches": {"products": {"missing": [[2, 2]], "failed": [[3, 3]]}}}
    assert deleted_ids(query, "products", store.id) == []


@pytest.mark.gen_test
async def test_two_runs_of_a_store_at_once_conflict(post, make_store):
    store, other = make_store(), make_store()
    run_id = await start(post, store)
    await start(post, other)

    message, details = refusal(
        await post("/api/sync/runs", {"entities": ["customers"]}, store.token), 409, "run_conflict"
    )
    assert run_id in message and details == {"runId": run_id}
    data(await post(f"/api/sync/runs/{run_id}/abort", b"", store.token, {"Content-Type": ""}))
    await start(post, store)


@pytest.mark.gen_test
async def test_a_batch_naming_a_run_it_cannot_join_is_a_409(post, make_store, query):
    store, other = make_store(), make_store()
    run_id = await start(post, store)
    theirs = await start(post, other)

    refusal(await send(post, store, theirs, 1, [record("products", 1)]), 409, "unknown_run")
    refusal(await send(post, store, run_id, 1, [record("customers", 1)], "customers"), 409, "entity_not_in_run")
    data(await post(f"/api/sync/runs/{run_id}/abort", {}, store.token))
    refusal(await send(post, store, run_id, 1, [record("products", 1)]), 409, "run_not_running")
    refusal(
        await post(f"/api/sync/runs/{run_id}/complete", {"batches": {"products": 0}}, store.token),
        409,
        "run_not_running",
    )
    assert rows(query, "products", store.id) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Sync-Run": "nope", "X-Sync-Batch": "1"},
        {"X-Sync-Batch": "1"},
        {"X-Sync-Run": "00000000-0000-4000-8000-000000000001"},
        {"X-Sync-Run": "00000000-0000-4000-8000-000000000001", "X-Sync-Batch": "0"},
        {"X-Sync-Run": "00000000-0000-4000-8000-000000000001", "X-Sync-Batch": "1.5"},
    ],
)
@pytest.mark.gen_test
async def test_malformed_run_headers_are_a_400(headers, post, store, query):
    response = await post("/api/sync/products", {"products": [record("products", 1)]}, store.token, headers)
    assert "X-Sync-" in assert_error(response, 400, "bad_request")
    assert rows(query, "products", store.id) == []


@pytest.mark.gen_test
async def test_another_stores_run_is_not_found_on_the_run_routes(post, get, make_store):
    store, other = make_store(), make_store()
    run_id = await start(post, store)
    for response in [
        await get(f"/api/sync/runs/{run_id}", other.token),
        await get("/api/sync/runs/not-a-run", store.token),
        await post(f"/api/sync/runs/{run_id}/complete", {"batches": {"products": 0}}, other.token),
        await post(f"/api/sync/runs/{run_id}/abort", {}, other.token),
    ]:
        assert_error(response, 404, "not_found")
    assert data(await get(f"/api/sync/runs/{run_id}", store.token))["status"] == "running"


@pytest.mark.gen_test
async def test_run_routes_need_a_token_and_their_methods(post, get, store):
    assert_error(await post("/api/sync/runs", {"entities": ["products"]}), 401, "unauthorized")
    assert_error(await get("/api/sync/runs", store.token), 405, "method_not_allowed")
    assert_error(await post("/api/sync/status", {}, store.token), 405, "method_not_allowed")
    response = await post("/api/sync/runs", b"x" * 70_000, store.token)
    assert_error(response, 413, "payload_too_large")


@pytest.mark.gen_test
async def test_status_numbers_equal_the_tables(post, get, store, query):
    await seed(post, store, [1, 2, 3])
    await seed(post, store, [1], "categories")
    run_id = await start(post, store, ["products"], {"products": 1})
    await send(post, store, run_id, 1, [record("products", 1)])
    await post(f"/api/sync/runs/{run_id}/complete", {"batches": {"products": 1}}, store.token)
    with failing_trigger(query, "customers", store.id):
        failed = await post("/api/sync/customers", {"customers": [record("customers", 1)]}, store.token)

    status = data(await get("/api/sync/status", store.token))

    for entity, counts in status["entities"].items():
        [row] = query(
            sql.SQL(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live, "
                "count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted FROM {} WHERE store_id = %s"
            ).format(sql.Identifier(entity)),
            (store.id,),
        )
        assert (counts["live"], counts["deleted"]) == (row["live"], row["deleted"]), entity
    assert status["entities"]["products"]["live"] == 1 and status["entities"]["products"]["deleted"] == 2
    assert status["latestRun"]["runId"] == run_id and status["latestRun"]["status"] == "completed"
    [log] = query("SELECT * FROM sync_logs WHERE store_id = %s AND status = 'failed'", (store.id,))
    assert str(log["id"]) in json.loads(failed.body)["error"]["message"]
    assert status["failedBatches"] == [
        {
            "syncLogId": str(log["id"]),
            "entity": "customers",
            "failedAt": status["failedBatches"][0]["failedAt"],
            "errorCode": "P0001",
            "runId": None,
            "batch": None,
        }
    ]
    assert "injected" not in json.dumps(status)

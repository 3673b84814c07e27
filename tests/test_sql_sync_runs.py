"""Full sync runs through the SQL functions, as an operator drives them from psql (sql/sync_runs.sql).

A run's batches are numbered per entity; the latest attempt of each counts.
Completing refuses, naming the batches, unless every batch 1..n has a
completed latest attempt; then it marks deleted exactly the rows of the
run's entities, in the run's store, that no latest attempt carried.
"""

import json
import threading
from contextlib import closing

import psycopg2
import pytest

from service.batch.entities import ENTITIES

from sql_helpers import deleted_ids, failing_trigger, rows, suspend, sync_log, sync_logs, valid_record

OLD, NEW = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


def dated(wc_id, updated_at, name=None):
    return {**valid_record("products", wc_id, name), "updated_at": updated_at}


def start(query, store_id, entities=("products",), expected=None):
    [row] = query(
        "SELECT sync_run_start(%s, %s, %s::jsonb) AS id",
        (store_id, list(entities), json.dumps(expected) if expected is not None else None),
    )
    return str(row["id"])


def batch(query, store_id, run_id, entity, number, records):
    [row] = query(
        "SELECT * FROM sync_run_batch(%s, %s, %s, %s, %s::jsonb)",
        (store_id, run_id, entity, number, json.dumps(records)),
    )
    return row


def complete(query, store_id, run_id, batches):
    result = query("SELECT * FROM sync_run_complete(%s, %s, %s::jsonb)", (store_id, run_id, json.dumps(batches)))
    return {row["entity"]: row["rows_deleted"] for row in result}


def run_row(query, store_id, run_id):
    [row] = query("SELECT * FROM sync_runs WHERE store_id = %s AND id = %s", (store_id, run_id))
    return row


def refused(code, call, *args):
    """Runs call(*args), which must raise SQLSTATE code; returns the error."""
    with pytest.raises(psycopg2.Error) as raised:
        call(*args)
    assert raised.value.pgcode == code, raised.value
    return raised.value


def status(query, store_id, run_id):
    [row] = query("SELECT sync_run_status(%s, %s) AS s", (store_id, run_id))
    return row["s"]


def seed(sync_sql, store_id, ids, updated_at=NEW):
    sync_sql("products", store_id, [dated(n, updated_at) for n in ids])


# --- Done when: completion marks exactly what the store no longer has ------------------------


def test_a_run_with_a_failed_then_resent_batch_marks_exactly_the_rows_the_store_no_longer_has(
    make_store, sync_sql, query
):
    store, other = make_store(), make_store()
    seed(sync_sql, store.id, range(1, 11))
    seed(sync_sql, other.id, range(1, 11))
    sync_sql("customers", store.id, [valid_record("customers", 1)])
    run = start(query, store.id, ["products"], {"products": 9})

    # Batch 1: 1 and 2 written, 3 unchanged (older than stored), 4 skipped (no name) but carried.
    first = batch(
        query,
        store.id,
        run,
        "products",
        1,
        [dated(1, NEW, "one"), dated(2, NEW), dated(3, OLD), {"wc_product_id": 4, "name": ""}],
    )
    assert (first["synced_count"], first["unchanged_count"], first["skipped_count"]) == (2, 1, 1)
    # Batch 2 fails: nothing of it counts, although it carried 5, 6 and 7.
    with failing_trigger(query, "products", store.id):
        failed = batch(query, store.id, run, "products", 2, [dated(5, NEW), dated(6, NEW), dated(7, NEW)])
    assert failed["status"] == "failed"
    # Re-sent: the store has deleted 7 meanwhile.
    assert batch(query, store.id, run, "products", 2, [dated(5, NEW), dated(6, OLD)])["status"] == "completed"
    # Batch 3, sent twice: only the latest attempt counts (8 and 9 were unchanged in the first only).
    batch(query, store.id, run, "products", 3, [dated(8, OLD), dated(9, OLD)])
    batch(query, store.id, run, "products", 3, [dated(9, OLD)])

    assert complete(query, store.id, run, {"products": 3}) == {"products": 3}

    assert deleted_ids(query, "products", store.id) == [7, 8, 10]
    assert deleted_ids(query, "products", other.id) == []  # another store's rows
    assert deleted_ids(query, "customers", store.id) == []  # an entity outside the run
    assert len({row["deleted_at"] for row in rows(query, "products", store.id)} - {None}) == 1  # one transaction
    finished = run_row(query, store.id, run)
    assert (finished["status"], finished["batches"], finished["deleted"]) == (
        "completed",
        {"products": 3},
        {"products": 3},
    )
    assert all(log["carried_ids"] is None for log in sync_logs(query, store.id))  # released


def test_a_row_written_during_the_run_by_a_batch_outside_it_is_not_marked(store, sync_sql, query):
    seed(sync_sql, store.id, [1, 2])
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [dated(1, NEW)])
    seed(sync_sql, store.id, [2, 3])  # a webhook's batch, without the run: the store has them

    assert complete(query, store.id, run, {"products": 1}) == {"products": 0}
    assert deleted_ids(query, "products", store.id) == []


def test_a_deleted_row_carried_again_is_live_again_whether_written_or_unchanged(store, sync_sql, query):
    seed(sync_sql, store.id, [1, 2, 3])
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [])
    complete(query, store.id, run, {"products": 1})
    assert deleted_ids(query, "products", store.id) == [1, 2, 3]

    sync_sql("products", store.id, [dated(1, NEW, "back"), dated(2, OLD, "older")])
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [dated(3, OLD)])

    assert deleted_ids(query, "products", store.id) == []
    assert {row["wc_product_id"]: row["name"] for row in rows(query, "products", store.id)} == {
        1: "back",
        2: "older",
        3: "item 3",
    }


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_entity_is_swept_and_comes_back(entity, store, sync_sql, query):
    sync_sql(entity, store.id, [valid_record(entity, n) for n in (1, 2)])
    run = start(query, store.id, [entity])
    batch(query, store.id, run, entity, 1, [valid_record(entity, 2)])
    assert complete(query, store.id, run, {entity: 1}) == {entity: 1}
    assert deleted_ids(query, entity, store.id) == [1]

    sync_sql(entity, store.id, [valid_record(entity, 1)])
    assert deleted_ids(query, entity, store.id) == []


def test_zero_batches_marks_every_row_of_the_entity(store, sync_sql, query):
    seed(sync_sql, store.id, [1, 2])
    run = start(query, store.id, ["products", "categories"])
    assert complete(query, store.id, run, {"products": 0, "categories": 0}) == {"products": 2, "categories": 0}


# --- Done when: an incomplete run cannot complete, and says which batches ---------------------


def test_a_run_with_a_batch_missing_failed_running_or_beyond_n_cannot_complete(store, sync_sql, query):
    seed(sync_sql, store.id, [1, 2])
    run = start(query, store.id, ["products", "customers"])
    for number in (1, 2, 6, 7, 9):
        batch(query, store.id, run, "products", number, [])
    with failing_trigger(query, "products", store.id):  # batch 2 completed, then failed when re-sent
        batch(query, store.id, run, "products", 2, [dated(1, NEW)])
    query("SELECT sync_log_start(%s, 'products', 1, %s, 3)", (store.id, run))  # 3 still running
    batch(query, store.id, run, "customers", 1, [])

    error = refused("WR004", complete, query, store.id, run, {"products": 8, "customers": 1})

    assert (
        error.diag.message_primary
        == f"sync run {run} cannot complete: products batches missing 4-5, 8; failed 2; running 3; unexpected 9"
    )
    assert json.loads(error.diag.message_detail) == {
        "batches": {
            "products": {"missing": [[4, 5], [8, 8]], "failed": [[2, 2]], "running": [[3, 3]], "unexpected": [[9, 9]]}
        }
    }
    assert run_row(query, store.id, run)["status"] == "running"
    assert deleted_ids(query, "products", store.id) == []


def test_a_failed_batch_resent_successfully_lets_the_run_complete(store, query):
    run = start(query, store.id)
    with failing_trigger(query, "products", store.id):
        batch(query, store.id, run, "products", 1, [dated(1, NEW)])
    refused("WR004", complete, query, store.id, run, {"products": 1})
    batch(query, store.id, run, "products", 1, [dated(1, NEW)])
    assert complete(query, store.id, run, {"products": 1}) == {"products": 0}


@pytest.mark.parametrize(
    "batches",
    [
        None,
        [],
        {},
        {"products": 1, "customers": 1},
        {"customers": 1},
        {"products": -1},
        {"products": 1.5},
        {"products": "1"},
        {"products": 1000001},
    ],
)
def test_complete_needs_a_batch_count_for_each_entity_of_the_run_and_only_those(batches, store, query):
    run = start(query, store.id)
    error = refused("WR000", complete, query, store.id, run, batches)
    assert "products" in error.diag.message_primary
    assert run_row(query, store.id, run)["status"] == "running"


# --- Starting, aborting, and who may send what -------------------------------------------------


def test_one_run_at_a_time_per_store(make_store, query):
    store, other = make_store(), make_store()
    run = start(query, store.id)
    start(query, other.id)  # another store's run is no obstacle

    error = refused("WR003", start, query, store.id)
    assert json.loads(error.diag.message_detail) == {"runId": run}
    query("SELECT sync_run_abort(%s, %s)", (store.id, run))
    assert start(query, store.id) != run


@pytest.mark.parametrize(
    "entities, expected",
    [
        ([], None),
        (["refunds"], None),
        (["products", "products"], None),
        ([None], None),
        (["products"], []),
        (["products"], {"customers": 1}),
        (["products"], {"products": -1}),
        (["products"], {"products": 1.5}),
    ],
)
def test_start_refuses_bad_entities_or_expected_counts(entities, expected, store, query):
    refused("WR000", start, query, store.id, entities, expected)
    assert query("SELECT * FROM sync_runs WHERE store_id = %s", (store.id,)) == []


def test_start_for_an_unknown_or_suspended_store_raises(store, query):
    refused("23503", start, query, "00000000-0000-4000-8000-000000000001")
    suspend(query, store.id)
    refused("42501", start, query, store.id)


def test_abort_ends_the_run_and_marks_nothing(store, sync_sql, query):
    seed(sync_sql, store.id, [1, 2])
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [dated(1, NEW)])

    query("SELECT sync_run_abort(%s, %s)", (store.id, run))

    assert deleted_ids(query, "products", store.id) == []
    assert run_row(query, store.id, run)["status"] == "aborted"
    assert all(log["carried_ids"] is None for log in sync_logs(query, store.id))
    refused("WR002", batch, query, store.id, run, "products", 2, [])
    refused("WR002", complete, query, store.id, run, {"products": 1})
    refused("WR002", query, "SELECT sync_run_abort(%s, %s)", (store.id, run))


def test_a_run_is_out_of_reach_of_another_store(make_store, query):
    store, other = make_store(), make_store()
    run = start(query, store.id)

    refused("WR001", batch, query, other.id, run, "products", 1, [])
    refused("WR001", complete, query, other.id, run, {"products": 0})
    refused("WR001", query, "SELECT sync_run_abort(%s, %s)", (other.id, run))
    assert status(query, other.id, run) is None
    assert sync_logs(query, other.id) == [] and run_row(query, store.id, run)["status"] == "running"


@pytest.mark.parametrize(
    "entity, number, code", [("customers", 1, "WR005"), ("products", 0, "WR000"), ("products", None, "WR000")]
)
def test_a_batch_must_be_of_an_entity_of_the_run_with_a_positive_number(entity, number, code, store, query):
    run = start(query, store.id)
    refused(code, query, "SELECT sync_log_start(%s, %s, 0, %s, %s)", (store.id, entity, run, number))
    assert sync_logs(query, store.id) == []


def test_a_batch_cannot_start_while_its_run_completes(store, query, database_url):
    """complete holds the run; a batch starting meanwhile waits, then finds the run over."""
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [])
    outcome = {}

    def start_batch():
        with closing(psycopg2.connect(database_url)) as conn, conn.cursor() as cur:
            try:
                cur.execute("SELECT sync_log_start(%s, 'products', 0, %s, 2)", (store.id, run))
            except psycopg2.Error as exc:
                outcome["code"] = exc.pgcode

    with closing(psycopg2.connect(database_url)) as completing:
        with completing.cursor() as cur:
            cur.execute("SELECT * FROM sync_run_complete(%s, %s, '{\"products\": 1}')", (store.id, run))
        waiter = threading.Thread(target=start_batch)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()  # waiting for the run row
        completing.commit()
    waiter.join(10)
    assert outcome == {"code": "WR002"}


# --- Progress and status ------------------------------------------------------------------------


def test_run_status_counts_the_latest_attempt_of_each_batch(store, sync_sql, query):
    seed(sync_sql, store.id, [1])
    run = start(query, store.id, ["products", "customers"], {"products": 8})
    batch(query, store.id, run, "products", 1, [dated(1, OLD), dated(2, NEW), {"wc_product_id": 3}])
    batch(query, store.id, run, "products", 2, [dated(4, NEW)])
    batch(query, store.id, run, "products", 2, [dated(4, NEW), dated(5, NEW)])  # replaces the first
    with failing_trigger(query, "products", store.id):
        batch(query, store.id, run, "products", 3, [dated(6, NEW)])

    result = status(query, store.id, run)

    assert result["runId"] == run and result["status"] == "running" and result["finishedAt"] is None
    assert result["entities"] == {
        "products": {
            "batchesReceived": 3,
            "recordsReceived": 6,
            "recordsSynced": 3,
            "recordsUnchanged": 1,
            "recordsSkipped": 2,
            "failedBatches": [3],
            "runningBatches": [],
            "expected": 8,
            "progress": 0.75,
        },
        "customers": {
            "batchesReceived": 0,
            "recordsReceived": 0,
            "recordsSynced": 0,
            "recordsUnchanged": 0,
            "recordsSkipped": 0,
            "failedBatches": [],
            "runningBatches": [],
            "expected": None,
            "progress": None,
        },
    }
    logs = [log for log in sync_logs(query, store.id) if log["run_id"]]
    assert [(log["run_batch"], log["status"]) for log in logs] == [
        (1, "completed"),
        (2, "completed"),
        (2, "completed"),
        (3, "failed"),
    ]
    assert sync_log(query, store.id, logs[-1]["id"])["error_code"] == "P0001"  # the trigger's RAISE


def test_store_status_counts_live_and_deleted_rows_and_lists_failed_batches(make_store, sync_sql, query):
    store, other = make_store(), make_store()
    seed(sync_sql, store.id, [1, 2, 3])
    seed(sync_sql, other.id, [1, 2, 3, 4])
    run = start(query, store.id)
    batch(query, store.id, run, "products", 1, [dated(1, NEW)])
    complete(query, store.id, run, {"products": 1})
    with failing_trigger(query, "customers", store.id):
        failed = sync_sql("customers", store.id, [valid_record("customers", 1)])

    [row] = query("SELECT sync_status(%s) AS s", (store.id,))
    result = row["s"]

    assert result["entities"]["products"]["live"] == 1 and result["entities"]["products"]["deleted"] == 2
    assert result["entities"]["customers"] == {"live": 0, "deleted": 0, "lastSyncAt": None}
    assert result["latestRun"]["runId"] == run and result["latestRun"]["deleted"] == {"products": 2}
    assert [(f["syncLogId"], f["entity"], f["errorCode"]) for f in result["failedBatches"]] == [
        (str(failed["sync_log_id"]), "customers", "P0001")
    ]
    assert "injected" not in json.dumps(result)
    assert query("SELECT sync_status(%s) AS s", ("00000000-0000-4000-8000-000000000001",)) == [{"s": None}]


def test_the_entities_a_run_covers_are_the_services(query):
    """sync_entities() is the SQL layer's list; service/batch/entities.py the HTTP layer's."""
    assert {row["entity"]: row["id_column"] for row in query("SELECT * FROM sync_entities()")} == {
        name: entity.id_field for name, entity in ENTITIES.items()
    }

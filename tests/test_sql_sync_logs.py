"""The batch contract all four sync functions share, and the functions behind it.

upsert_products / upsert_customers / upsert_categories / upsert_orders(store,
records [, sync_log_id]) each run one batch through sync_batch (sql/sync_batch.sql):
a sync_logs row goes from 'running' to 'completed' or 'failed' with its
counts, stores.last_sync_at is set, and the batch is all or nothing. These
tests call the functions as an operator does from psql and check the
tables, parametrised over the entities where the logic is the same
(the feature spec's unit test plan for the sync service: a batch upserts and
logs, an empty batch syncs nothing, invalid records are skipped, references
resolve, last_sync_at is set, an error rolls everything back). Then
sync_log_start and sync_log_fail. The store and token functions of
sql/stores.sql are in tests/test_sql_stores.py.
"""

from contextlib import closing

import psycopg2
import psycopg2.errors
import pytest

from service.batch.entities import ENTITIES

from sql_helpers import (
    assert_failed_batch,
    call_raw,
    call_with_log,
    db_now,
    failing_trigger,
    last_sync_at,
    rows,
    suspend,
    sync_log,
    sync_logs,
    valid_record,
    values_by_id,
)

# Records missing a required field, per entity: (record, reported id, reason).
MISSING_REQUIRED = {
    "products": [
        ({"name": "no id"}, None, "wc_product_id: required field"),
        ({"wc_product_id": 7}, 7, "name: required field"),
        ({"wc_product_id": 8, "name": None}, 8, "name: required field"),
    ],
    "customers": [
        ({"display_name": "no id"}, None, "wc_customer_id: required field"),
        ({"wc_customer_id": None, "id": None}, None, "wc_customer_id: required field"),
    ],
    "categories": [
        ({"name": "no id"}, None, "wc_category_id: required field"),
        ({"wc_category_id": 7}, 7, "name: required field"),
        ({"wc_category_id": 8, "name": ""}, 8, "name: must not be empty"),
    ],
    "orders": [
        ({"status": "no id"}, None, "wc_order_id: required field"),
        ({"wc_order_id": 7}, 7, "status: required field"),
        ({"wc_order_id": 8, "status": " "}, 8, "status: must not be empty"),
    ],
}


# --- One batch, from start to completed log ---------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_batch_upserts_its_records_and_completes_its_sync_log(entity, store, sync_sql, query):
    before = db_now(query)
    result = sync_sql(entity, store.id, [valid_record(entity, n) for n in (1, 2, 3)])
    after = db_now(query)

    assert result["status"] == "completed" and result["error_message"] is None
    assert (result["synced_count"], result["unchanged_count"], result["skipped_count"]) == (3, 0, 0)
    assert result["errors"] == []
    assert values_by_id(query, entity, store.id) == {1: "item 1", 2: "item 2", 3: "item 3"}
    [log] = sync_logs(query, store.id)
    assert log["id"] == result["sync_log_id"]
    assert (log["entity_type"], log["status"], log["error_message"]) == (entity, "completed", None)
    assert (log["records_received"], log["records_synced"], log["records_unchanged"], log["records_skipped"]) == (
        3,
        3,
        0,
        0,
    )
    assert before <= log["started_at"] <= log["completed_at"] <= after

    # A second batch updates one row in place and inserts another.
    result = sync_sql(entity, store.id, [valid_record(entity, 2, "renamed"), valid_record(entity, 4)])
    assert (result["status"], result["synced_count"]) == ("completed", 2)
    assert values_by_id(query, entity, store.id) == {1: "item 1", 2: "renamed", 3: "item 3", 4: "item 4"}
    assert [log["status"] for log in sync_logs(query, store.id)] == ["completed", "completed"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_empty_batch_syncs_nothing_and_completes_its_log(entity, store, sync_sql, query):
    result = sync_sql(entity, store.id, [])

    assert result["status"] == "completed"
    assert (result["synced_count"], result["unchanged_count"], result["skipped_count"]) == (0, 0, 0)
    assert result["errors"] == []
    assert rows(query, entity, store.id) == []
    [log] = sync_logs(query, store.id)
    assert (log["status"], log["records_received"], log["records_synced"], log["records_skipped"]) == (
        "completed",
        0,
        0,
        0,
    )
    assert log["started_at"] <= log["completed_at"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_records_missing_required_fields_are_skipped_and_their_neighbours_kept(entity, store, sync_sql, query):
    invalid = MISSING_REQUIRED[entity]
    records = [valid_record(entity, 1)] + [record for record, _, _ in invalid] + [valid_record(entity, 2)]

    result = sync_sql(entity, store.id, records)

    assert result["status"] == "completed"
    assert result["errors"] == [
        {"index": index, "id": wc_id, "reason": reason} for index, (_, wc_id, reason) in enumerate(invalid, start=1)
    ]
    assert (result["synced_count"], result["skipped_count"]) == (2, len(invalid))
    assert values_by_id(query, entity, store.id) == {1: "item 1", 2: "item 2"}
    log = sync_log(query, store.id, result["sync_log_id"])
    assert (log["records_received"], log["records_synced"], log["records_skipped"]) == (len(records), 2, len(invalid))


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("record", [5, "text", None, [], [{"id": 1}], True], ids=repr)
def test_a_record_that_is_not_an_object_is_skipped(entity, record, store, sync_sql, query):
    result = sync_sql(entity, store.id, [record, valid_record(entity, 1)])

    assert result["errors"] == [{"index": 0, "id": None, "reason": "record: must be a JSON object"}]
    assert (result["status"], result["synced_count"], result["skipped_count"]) == ("completed", 1, 1)
    assert values_by_id(query, entity, store.id) == {1: "item 1"}


@pytest.mark.parametrize("entity", ENTITIES)
def test_batch_sets_last_sync_at(entity, store, sync_sql, query):
    assert last_sync_at(query, store.id) is None
    before = db_now(query)
    sync_sql(entity, store.id, [valid_record(entity, 1)])
    first = last_sync_at(query, store.id)
    assert first is not None and before <= first <= db_now(query)

    sync_sql(entity, store.id, [valid_record(entity, 2)])
    assert last_sync_at(query, store.id) > first


@pytest.mark.parametrize("entity", ENTITIES)
def test_batch_rolls_back_on_a_database_error(entity, store, sync_sql, query):
    """A trigger fails the batch after it has updated a stored row and inserted a new one."""
    sync_sql(entity, store.id, [valid_record(entity, 1, "before")])
    synced_at = last_sync_at(query, store.id)
    stored = rows(query, entity, store.id)

    with failing_trigger(query, entity, store.id):
        result = sync_sql(entity, store.id, [valid_record(entity, 1, "after"), valid_record(entity, 2)])

    assert_failed_batch(query, store.id, result, received=2)
    assert rows(query, entity, store.id) == stored  # the update undone, the insert gone
    assert last_sync_at(query, store.id) == synced_at
    assert [log["status"] for log in sync_logs(query, store.id)] == ["completed", "failed"]
    # The trigger is gone: the same batch now goes through.
    assert sync_sql(entity, store.id, [valid_record(entity, 1, "after")])["status"] == "completed"


@pytest.mark.parametrize("entity", ENTITIES)
def test_same_id_twice_in_a_batch_the_last_valid_one_wins(entity, store, sync_sql, query):
    result = sync_sql(
        entity, store.id, [valid_record(entity, 1, "first"), valid_record(entity, 2), valid_record(entity, 1, "second")]
    )
    assert (result["status"], result["synced_count"], result["skipped_count"]) == ("completed", 3, 0)
    assert values_by_id(query, entity, store.id) == {1: "second", 2: "item 2"}

    # An invalid later occurrence is skipped; the valid earlier one is stored.
    broken = {ENTITIES[entity].id_field: 3, ENTITIES[entity].value_field: 42}
    result = sync_sql(entity, store.id, [valid_record(entity, 3, "valid"), broken])
    assert (result["status"], result["synced_count"], result["skipped_count"]) == ("completed", 1, 1)
    assert [error["index"] for error in result["errors"]] == [1]
    assert values_by_id(query, entity, store.id)[3] == "valid"


JAN, MARCH = "2026-01-15T10:00:00Z", "2026-03-15T10:00:00Z"


@pytest.mark.parametrize("entity", ["products", "customers"])  # categories carry no updated_at
@pytest.mark.parametrize(
    "versions, winner",
    [
        ([("march", MARCH), ("january", JAN)], "march"),
        ([("january", JAN), ("march", MARCH)], "march"),
        ([("first", MARCH), ("second", MARCH)], "second"),
        ([("first", None), ("second", None)], "second"),
        ([("dated", MARCH), ("undated", None)], "undated"),
        ([("undated", None), ("dated", JAN)], "dated"),
        ([("march", MARCH), ("undated", None), ("january", JAN)], "undated"),
        (
            [("undated", None), ("march", MARCH), ("january", JAN), ("march again", "2026-03-15T15:00:00+05:00")],
            "march again",
        ),
        ([("06:00Z", "2026-03-15T06:00:00Z"), ("05:00Z", "2026-03-15T10:00:00+05:00")], "06:00Z"),
    ],
)
def test_same_id_twice_in_a_batch_the_newest_wins(entity, versions, winner, store, sync_sql, query):
    """The last of the records with the newest updated_at or none at all: one without beats those before it."""
    records = [{**valid_record(entity, 1, name), "updated_at": updated_at} for name, updated_at in versions]
    result = sync_sql(entity, store.id, records + [valid_record(entity, 2)])
    assert (result["synced_count"], result["unchanged_count"], result["skipped_count"]) == (len(versions) + 1, 0, 0)
    assert values_by_id(query, entity, store.id) == {1: winner, 2: "item 2"}
    row = rows(query, entity, store.id)[0]
    assert row["updated_at"] == query("SELECT %s::timestamptz AS t", (dict(versions)[winner],))[0]["t"]


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("records_text", ["{}", "null", '"[]"', "5", None], ids=repr)
def test_records_that_are_not_an_array_raise_without_leaving_a_log(entity, records_text, store, query):
    with pytest.raises(psycopg2.errors.InvalidParameterValue, match="records must be a JSON array"):
        call_raw(query, entity, store.id, records_text)
    assert sync_logs(query, store.id) == []  # no log left 'running'
    assert rows(query, entity, store.id) == []
    assert last_sync_at(query, store.id) is None


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_same_ids_in_two_stores_stay_separate(entity, make_store, sync_sql, query):
    store_a, store_b = make_store("A"), make_store("B")
    sync_sql(entity, store_a.id, [valid_record(entity, 1, "of A"), valid_record(entity, 2, "of A")])
    sync_sql(entity, store_b.id, [valid_record(entity, 1, "of B")])
    sync_sql(entity, store_a.id, [valid_record(entity, 2, "A again")])

    assert values_by_id(query, entity, store_a.id) == {1: "of A", 2: "A again"}
    assert values_by_id(query, entity, store_b.id) == {1: "of B"}
    assert len(sync_logs(query, store_a.id)) == 2 and len(sync_logs(query, store_b.id)) == 1


# --- Who may sync ------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_batch_for_an_unknown_or_suspended_store_raises_and_writes_nothing(entity, store, sync_sql, query):
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(psycopg2.errors.ForeignKeyViolation, match="does not exist"):
        sync_sql(entity, unknown, [valid_record(entity, 1)])
    assert query("SELECT count(*) AS n FROM sync_logs WHERE store_id = %s", (unknown,)) == [{"n": 0}]

    suspend(query, store.id)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="is suspended"):
        sync_sql(entity, store.id, [valid_record(entity, 1)])
    assert sync_logs(query, store.id) == [] and rows(query, entity, store.id) == []
    assert last_sync_at(query, store.id) is None


# --- sync_log_start / sync_log_fail, and an explicit sync_log_id -----------------------------


def start_log(query, store_id, entity, received):
    [row] = query("SELECT sync_log_start(%s, %s, %s) AS id", (store_id, entity, received))
    return row["id"]


def test_sync_log_start_commits_a_running_log(store, query):
    log_id = start_log(query, store.id, "customers", 4)
    log = sync_log(query, store.id, log_id)
    assert (log["entity_type"], log["status"], log["records_received"]) == ("customers", "running", 4)
    assert (log["records_synced"], log["records_skipped"], log["completed_at"], log["error_message"]) == (
        0,
        0,
        None,
        None,
    )


def test_sync_log_start_for_an_unknown_store_raises(query):
    with pytest.raises(psycopg2.errors.ForeignKeyViolation, match="does not exist"):
        start_log(query, "00000000-0000-4000-8000-000000000001", "products", 1)


def test_sync_log_start_for_a_suspended_store_raises(store, query):
    suspend(query, store.id)
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="is suspended"):
        start_log(query, store.id, "products", 1)
    assert sync_logs(query, store.id) == []


def test_sync_log_start_rejects_an_unknown_entity(store, query):
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):  # not in the table entities
        start_log(query, store.id, "coupons", 1)
    assert sync_logs(query, store.id) == []


def test_sync_log_fail_marks_only_that_running_log_of_that_store_failed(make_store, sync_sql, query):
    store, other = make_store(), make_store()
    running = start_log(query, store.id, "products", 5)
    completed = sync_sql("products", store.id, [valid_record("products", 1)])["sync_log_id"]
    others = start_log(query, other.id, "products", 5)

    for log_id in (running, completed, others):
        query("SELECT sync_log_fail(%s, %s, %s)", (store.id, log_id, "connection lost"))

    log = sync_log(query, store.id, running)
    assert (log["status"], log["error_message"]) == ("failed", "connection lost")
    assert (log["records_synced"], log["records_unchanged"], log["records_skipped"]) == (0, 0, 5)
    assert log["completed_at"] is not None and log["started_at"] <= log["completed_at"]
    assert sync_log(query, store.id, completed)["status"] == "completed"  # a finished log stays as it was
    assert sync_log(query, other.id, others)["status"] == "running"  # another store's log is out of reach


def test_the_next_batch_ends_logs_abandoned_while_running(make_store, sync_sql, query, database_url):
    """A log left 'running' for over an hour by a dead batch is failed; live and other stores' logs are not."""
    store, other = make_store(), make_store()
    abandoned, held, recent = (start_log(query, store.id, "products", 3) for _ in range(3))
    others = start_log(query, other.id, "products", 3)
    query(
        "UPDATE sync_logs SET started_at = started_at - interval '2 hours' WHERE id = ANY (%s::uuid[])",
        ([str(abandoned), str(held), str(others)],),
    )
    with closing(psycopg2.connect(database_url)) as batch:  # a live batch holds its log, as sync_batch does
        with batch.cursor() as cur:
            cur.execute("SELECT 1 FROM sync_logs WHERE store_id = %s AND id = %s FOR UPDATE", (store.id, held))

        sync_sql("customers", store.id, [])

        batch.rollback()
    log = sync_log(query, store.id, abandoned)
    assert (log["status"], log["records_skipped"]) == ("failed", 3)
    assert log["error_message"].startswith("abandoned") and log["completed_at"] is not None
    assert sync_log(query, store.id, held)["status"] == "running"
    assert sync_log(query, store.id, recent)["status"] == "running"
    assert sync_log(query, other.id, others)["status"] == "running"


def test_an_explicit_sync_log_id_is_used_and_unsent_records_count_as_skipped(store, query):
    """The HTTP service's path: it started the log for 5 records and sends the 3 it validated."""
    log_id = start_log(query, store.id, "products", 5)
    records = [valid_record("products", 1), {"wc_product_id": 2}, valid_record("products", 3)]

    result = call_with_log(query, "products", store.id, records, log_id)

    assert result["sync_log_id"] == log_id
    assert (result["status"], result["synced_count"], result["skipped_count"]) == ("completed", 2, 3)
    assert result["errors"] == [{"index": 1, "id": 2, "reason": "name: required field"}]
    [log] = sync_logs(query, store.id)  # no second log
    assert (log["id"], log["status"], log["records_received"], log["records_synced"], log["records_skipped"]) == (
        log_id,
        "completed",
        5,
        2,
        3,
    )
    assert values_by_id(query, "products", store.id) == {1: "item 1", 3: "item 3"}


def test_a_batch_failing_under_an_explicit_sync_log_id_fails_that_log(store, query):
    log_id = start_log(query, store.id, "categories", 2)
    with failing_trigger(query, "categories", store.id):
        result = call_with_log(query, "categories", store.id, [valid_record("categories", 1)], log_id)
    assert result["sync_log_id"] == log_id
    assert_failed_batch(query, store.id, result, received=2)
    assert rows(query, "categories", store.id) == [] and last_sync_at(query, store.id) is None


@pytest.mark.parametrize("case", ["other entity", "other store", "completed", "too many records", "unknown"])
def test_an_explicit_sync_log_id_that_does_not_fit_raises_and_leaves_the_log(case, make_store, sync_sql, query):
    store, other = make_store(), make_store()
    log_id = {
        "other entity": lambda: start_log(query, store.id, "customers", 5),
        "other store": lambda: start_log(query, other.id, "products", 5),
        "completed": lambda: sync_sql("products", store.id, [])["sync_log_id"],
        "too many records": lambda: start_log(query, store.id, "products", 1),
        "unknown": lambda: "00000000-0000-4000-8000-000000000002",
    }[case]()
    before = query("SELECT * FROM sync_logs WHERE id = %s", (str(log_id),))

    with pytest.raises(psycopg2.errors.InvalidParameterValue):
        call_with_log(query, "products", store.id, [valid_record("products", 1), valid_record("products", 2)], log_id)

    assert query("SELECT * FROM sync_logs WHERE id = %s", (str(log_id),)) == before
    assert rows(query, "products", store.id) == []

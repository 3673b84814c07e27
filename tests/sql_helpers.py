"""Helpers shared by the tests that call the SQL functions directly (tests/test_sql_*.py).

They read tables through the `query` fixture and cause database errors for
real: a trigger, created by the test and scoped to its own store, raises
inside the batch's transaction.
"""

import contextlib
import hashlib
import json
import uuid

from psycopg2 import sql

from service.batch.entities import ENTITIES
from service.db.migrate import MIGRATIONS_DIR, SQL_DIR


def valid_record(entity, wc_id, value=None):
    """A minimal valid record of entity whose value field is value (default: 'item <id>')."""
    fields = ENTITIES[entity]
    return {fields.id_field: wc_id, fields.value_field: value if value is not None else f"item {wc_id}"}


def rows(query, table, store_id, order_by=None):
    """All rows of table for store_id, ordered by order_by (default: an entity's WooCommerce id)."""
    order = order_by or (ENTITIES[table].id_field if table in ENTITIES else "id")
    return query(
        sql.SQL("SELECT * FROM {} WHERE store_id = %s ORDER BY {}").format(sql.Identifier(table), sql.SQL(order)),
        (store_id,),
    )


def values_by_id(query, entity, store_id):
    """{wc id: value field} of the entity's rows in store_id."""
    return {row[ENTITIES[entity].id_field]: row[ENTITIES[entity].value_field] for row in rows(query, entity, store_id)}


def sync_logs(query, store_id):
    """The store's sync logs, oldest first."""
    return query("SELECT * FROM sync_logs WHERE store_id = %s ORDER BY started_at, id", (store_id,))


def sync_log(query, store_id, log_id):
    [log] = query("SELECT * FROM sync_logs WHERE store_id = %s AND id = %s", (store_id, str(log_id)))
    return log


def last_sync_at(query, store_id):
    [row] = query("SELECT last_sync_at FROM stores WHERE id = %s", (store_id,))
    return row["last_sync_at"]


def db_now(query):
    """The database's clock now (clock_timestamp), to bracket what a call records."""
    [row] = query("SELECT clock_timestamp() AS now")
    return row["now"]


def call_raw(query, entity, store_id, records_text, sync_log_id=None):
    """upsert_<entity>(store_id, records_text::jsonb [, sync_log_id]) with records given as JSON text.

    records_text may be None (an SQL NULL) or JSON no Python value produces
    (1e3, 1.0). Returns the sync_result row.
    """
    function = sql.Identifier(f"upsert_{entity}")
    if sync_log_id is None:
        [row] = query(sql.SQL("SELECT * FROM {}(%s, %s::jsonb)").format(function), (store_id, records_text))
    else:
        [row] = query(
            sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s)").format(function), (store_id, records_text, str(sync_log_id))
        )
    return row


def call_with_log(query, entity, store_id, records, sync_log_id):
    """upsert_<entity>(store_id, records, sync_log_id), as the HTTP service calls it."""
    return call_raw(query, entity, store_id, json.dumps(records), sync_log_id)


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def failing_trigger(query, table, store_id, timing="AFTER", events="INSERT OR UPDATE", condition="true"):
    """Within the block, writing a row of store_id to table raises 'injected failure'.

    Only rows of that store are affected (the store's uuid is in the trigger
    function as a literal), so nothing else in the database notices. An AFTER
    row trigger fires once the statement has written every row: the whole
    statement's work must then be undone. `condition` narrows it further (an
    SQL expression over NEW). The trigger and its function are dropped
    afterwards, whatever happens.
    """
    suffix = uuid.uuid4().hex[:12]
    function = sql.Identifier(f"test_fail_{suffix}")
    trigger = sql.Identifier(f"test_fail_{suffix}")
    query(
        sql.SQL("""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            IF NEW.store_id = {store}::uuid AND ({condition}) THEN
                RAISE EXCEPTION USING MESSAGE = 'injected failure on ' || TG_TABLE_NAME;
            END IF;
            RETURN NEW;
        END
        $body$
    """).format(function=function, store=sql.Literal(str(store_id)), condition=sql.SQL(condition))
    )
    try:
        query(
            sql.SQL(
                "CREATE TRIGGER {trigger} {timing} {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
            ).format(
                trigger=trigger,
                timing=sql.SQL(timing),
                events=sql.SQL(events),
                table=sql.Identifier(table),
                function=function,
            )
        )
        yield
    finally:
        query(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, sql.Identifier(table)))
        query(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(function))


def assert_failed_batch(query, store_id, result, received, message="injected failure"):
    """The batch failed cleanly: result and its sync log say so, with the error, and say nothing was synced."""
    assert result["status"] == "failed"
    assert message in result["error_message"]
    assert (result["synced_count"], result["unchanged_count"], result["skipped_count"]) == (0, 0, received)
    assert result["errors"] == []
    log = sync_log(query, store_id, result["sync_log_id"])
    assert log["status"] == "failed"
    assert message in log["error_message"]
    assert log["completed_at"] is not None and log["started_at"] <= log["completed_at"]
    assert (log["records_received"], log["records_synced"], log["records_unchanged"], log["records_skipped"]) == (
        received,
        0,
        0,
        received,
    )


def every_step():
    """What migrating an empty database applies: every versioned migration, then every sql/ file."""
    migrations = sorted(
        path.name.removesuffix(".sql")
        for path in MIGRATIONS_DIR.glob("0*.sql")
        if not path.name.endswith(".rollback.sql")
    )
    return migrations + [f"sql/{path.name}" for path in sorted(SQL_DIR.glob("*.sql"))]


def suspend(query, store_id):
    query("SELECT set_store_status(%s, 'suspended')", (store_id,))


def text_columns(query):
    """(table, column) of every text-like column of every table in the public schema."""
    return [
        (row["table_name"], row["column_name"])
        for row in query("""
        SELECT c.table_name, c.column_name
          FROM information_schema.columns c
          JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
           AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')""")
    ]


def columns_holding(query, texts):
    """[(table, column, text)] for each text of texts found, case-insensitively, in any row of any
    text-like column of any table (every store's rows: nothing may hold them anywhere)."""
    columns = text_columns(query)
    assert ("customers", "email_hash") in columns and ("sync_logs", "error_message") in columns
    found = []
    for table, column in columns:
        for text in texts:
            [row] = query(
                sql.SQL("SELECT count(*) AS n FROM {} WHERE strpos(lower({}::text), %s) > 0").format(
                    sql.Identifier(table), sql.Identifier(column)
                ),
                (text.lower(),),
            )
            if row["n"]:
                found.append((table, column, text))
    return found


def deleted_ids(query, entity, store_id):
    """The WooCommerce ids of the store's rows of entity marked deleted, in order."""
    id_field = ENTITIES[entity].id_field
    return [row[id_field] for row in rows(query, entity, store_id) if row["deleted_at"] is not None]

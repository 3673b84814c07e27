"""One definition per entity: service/batch/entities.py's ENTITIES and the database's table entities
name the same entities, with the same id columns, and everything made from either follows: the
SQL functions each names, the SQL dispatch (sync_batch), the full sync runs' list, the webhook
topics. The OpenAPI document's part is tests/test_openapi.py's. A server whose database names
other entities refuses to start."""

import json
import subprocess
import sys
from contextlib import closing

import psycopg2
import pytest
from psycopg2 import sql

from service.batch.entities import ENTITIES
from service.db.migrate import migrate, recreate_database, with_database
from service.http.webhooks import TOPIC_ENTITIES

from http_helpers import record


@pytest.fixture
def entities_table(query):
    return {row["name"]: row for row in query("SELECT * FROM entities ORDER BY position")}


def test_the_database_names_the_entities_of_the_service(entities_table):
    assert {name: row["id_column"] for name, row in entities_table.items()} == {
        name: entity.id_field for name, entity in ENTITIES.items()
    }


def test_full_sync_runs_cover_the_entities_in_the_order_a_store_sends_them(query, entities_table):
    assert [(row["entity"], row["id_column"]) for row in query("SELECT * FROM sync_entities()")] == [
        (name, row["id_column"]) for name, row in entities_table.items()
    ]
    assert list(entities_table)[0] == "categories"  # what the others refer to goes first


def test_each_entity_has_its_functions_and_its_table(query, entities_table):
    for name, row in entities_table.items():
        functions = {
            f["signature"]
            for f in query(
                "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p WHERE p.proname IN (%s, %s)",
                (row["rows_function"], ENTITIES[name].sql_function),
            )
        }
        assert functions == {f"{row['rows_function']}(uuid,jsonb)", f"{ENTITIES[name].sql_function}(uuid,jsonb,uuid)"}
        [column] = query(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            (name, row["id_column"]),
        )
        assert column["data_type"] == "bigint"


@pytest.mark.parametrize("entity", ENTITIES.values(), ids=list(ENTITIES))
def test_sync_batch_dispatches_each_entity_to_its_own_rows_function(entity, store, query):
    [log] = query("SELECT sync_log_start(%s, %s, 1) AS id", (store.id, entity.name))
    [result] = query(
        "SELECT * FROM sync_batch(%s, %s, %s::jsonb, %s)",
        (store.id, entity.name, json.dumps([record(entity.name, 42)]), log["id"]),
    )
    assert (result["status"], result["synced_count"]) == ("completed", 1)
    rows = query(
        sql.SQL("SELECT {} AS wc_id FROM {} WHERE store_id = %s").format(
            sql.Identifier(entity.id_field), sql.Identifier(entity.name)
        ),
        (store.id,),
    )
    assert rows == [{"wc_id": 42}]


def test_webhook_topics_name_entities():
    assert {resource: entity.name for resource, entity in TOPIC_ENTITIES.items()} == {
        "product": "products",
        "customer": "customers",
        "order": "orders",
    }


@pytest.fixture
def other_database(database_url):
    """A database of its own, migrated: a test may change its entities."""
    url = with_database(database_url, "wcsync_entities_test")
    recreate_database(url)
    migrate(url)
    return url


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_server_whose_database_names_other_entities_refuses_to_start_in_one_line(other_database, workers):
    with closing(psycopg2.connect(other_database)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO entities VALUES ('coupons', 'wc_coupon_id', 'upsert_coupon_rows', 5) ON CONFLICT DO NOTHING"
        )
    env = {"DATABASE_URL": other_database, "PORT": "0", "WORKERS": workers, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("the database's entities [('categories', 'wc_category_id'), (")
    assert line.endswith("run `python -m service migrate` with this version of the service")

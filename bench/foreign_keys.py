"""What each foreign key costs the SQL functions, per 1,000 rows.

    BENCH_DATABASE_URL=... .venv/bin/python -m bench.foreign_keys   # about a minute

On the bench database (recreated, with make bench's 20 background stores),
1,000 new products (in their store's 200-category tree) and 1,000 new
customers are written by upsert_<entity>() into a fresh store, BENCH_RUNS
times (9), each inside a transaction that is rolled back: first with every
key, then with each foreign key of the written tables dropped in turn
(dropped inside that transaction, so it is back afterwards), then with all
of them dropped. Prints the median
milliseconds of the call, and each key's share as the difference.
"""

import json
import os
import statistics
import time
from contextlib import closing

import psycopg2

from service.batch.entities import ENTITIES
from service.batch.validation import validate_batch

from . import data, database

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://localhost:5432/wcsync_bench")
RUNS = int(os.environ.get("BENCH_RUNS", 9))
RECORDS = 1000
TABLES = {"products": ("products", "product_categories"), "customers": ("customers",)}


def foreign_keys(cur, tables):
    cur.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
        (list(tables),),
    )
    return cur.fetchall()


def timed_call(conn, entity, records_json, tree_json, setup):
    """Milliseconds of one upsert into a fresh store, in a transaction rolled back afterwards."""
    ((store_id, _),) = database.create_stores(URL, 1, f"fk {entity}")
    if entity == "products":
        database.load_categories(URL, [store_id], [tree_json])
    with conn.cursor() as cur:
        try:
            setup(cur)
            began = time.perf_counter()
            cur.execute(f"SELECT status FROM upsert_{entity}(%s, %s::jsonb)", (store_id, records_json))
            elapsed = time.perf_counter() - began
            assert cur.fetchone()[0] == "completed"
        finally:
            conn.rollback()
    return elapsed * 1000


def main():
    database.recreate(URL)
    database.reset(URL, {"stores": 20, "categories": 200, "products": 2000, "customers": 2000, "orders": 2000})
    tree = data.category_tree(200, 0)
    records = {"products": data.products(RECORDS, tree, 0), "customers": data.customers(RECORDS, 0)}
    with closing(psycopg2.connect(URL)) as conn:
        print(f"| entity | foreign key off | ms per {RECORDS:,} rows (median of {RUNS}) | the key's cost |")
        print("|---|---|---:|---:|")
        for entity, tables in TABLES.items():
            text = validate_batch(ENTITIES[entity], records[entity]).records_json.decode()
            with conn.cursor() as cur:
                keys = foreign_keys(cur, tables)
            conn.rollback()

            def median(setup, entity=entity, text=text):
                return statistics.median(
                    timed_call(conn, entity, text, json.dumps(tree), setup) for _ in range(RUNS + 1)
                )

            median(lambda cur: None)  # warm-up
            full = median(lambda cur: None)
            print(f"| {entity} | none | {full:.1f} | |")
            for table, name, definition in keys:

                def drop(cur, table=table, name=name):
                    cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

                without = median(drop)
                print(f"| {entity} | {table}: {definition} | {without:.1f} | {full - without:.1f} |")

            def drop_all(cur, keys=keys):
                for table, name, _ in keys:
                    cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')

            off = median(drop_all)
            print(f"| {entity} | all of them | {off:.1f} | {full - off:.1f} |")


if __name__ == "__main__":
    main()

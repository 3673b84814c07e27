"""The four ways a batch can reach the database, each timed from its first write.

    http      POST /api/sync/<entity> to the real server (the product)
    function  SELECT upsert_<entity>(store_id, records::jsonb): the design's ceiling
    copy      COPY of the same rows into an UNLOGGED, index-free scratch table:
              the database's ceiling
    copy-logged  the same COPY into the real tables, logged, with their indexes and
              keys (products: no category links): the ceiling of writing these rows
    naive     one INSERT ... ON CONFLICT DO UPDATE per record through aiopg,
              autocommit (what a straightforward implementation does)

Each path has a prepare step (untimed: encoding, validating, formatting the
batches once per case) and a run step that returns the elapsed seconds of the
writes alone (the function, COPY and naive paths: with the CPU seconds of their
PostgreSQL backends). Every client is one store, sending its batches one after the
other, as one WooCommerce plugin does; clients run concurrently.
"""

import asyncio
import concurrent.futures
import csv
import hashlib
import io
import json
import time

import aiopg
import psycopg2
from psycopg2 import sql
from tornado.httpclient import AsyncHTTPClient

from service.batch.entities import ENTITIES
from service.batch.validation import validate_batch

from . import cpu, database

TIMEOUT_S = 600


class BenchError(RuntimeError):
    """A write did not do what it should: the figures would be meaningless."""


# --- http ------------------------------------------------------------------


def http_prepare(entity_name, client_batches):
    """The request bodies, as the plugin would send them."""
    return [[json.dumps({entity_name: batch}).encode() for batch in batches] for batches in client_batches]


async def http_run(base_url, entity_name, bodies, stores):
    AsyncHTTPClient.configure(None, max_clients=64)
    client = AsyncHTTPClient()
    url = f"{base_url}/api/sync/{entity_name}"

    async def one_store(token, store_bodies):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for body in store_bodies:
            response = await client.fetch(
                url, method="POST", body=body, headers=headers, request_timeout=TIMEOUT_S, raise_error=False
            )
            if response.code != 200:
                raise BenchError(f"HTTP {response.code}: {response.body[:300]!r}")
            skipped = json.loads(response.body)["data"]["skippedCount"]
            if skipped:
                raise BenchError(f"{skipped} record(s) skipped: the generated data should all be valid")

    began = time.perf_counter()
    await asyncio.gather(*(one_store(token, store_bodies) for (_, token), store_bodies in zip(stores, bodies)))
    return time.perf_counter() - began


# --- function --------------------------------------------------------------


def function_prepare(entity_name, client_batches):
    """Each batch as the service passes it on: its validated records, as JSON text."""
    entity = ENTITIES[entity_name]
    prepared = []
    for batches in client_batches:
        texts = []
        for batch in batches:
            validated = validate_batch(entity, batch)
            if validated.errors:
                raise BenchError(f"generated {entity_name} fail validation: {validated.errors[:3]}")
            texts.append(validated.records_json.decode())  # as a psql caller sends it: text
        prepared.append(texts)
    return prepared


async def open_connections(url, count):
    """count aiopg connections, each a client's for a whole case (see timed_per_store)."""
    return [await aiopg.connect(url, timeout=TIMEOUT_S) for _ in range(count)]


async def timed_per_store(connections, stores, work, one_store):
    """(seconds, backends' CPU seconds) for one_store(cursor, store_id, its work) to run for all
    stores at once, each store on a connection of its own.

    The connections are the case's, opened before its warm-up and kept for its runs, as the
    service's pool keeps its own: a backend's first calls load the catalogue and plan the
    functions' statements (about 10 ms for a customers batch), which belongs to no run."""
    pids = [conn.raw.get_backend_pid() for conn in connections]

    async def run(conn, store_id, store_work):
        async with conn.cursor() as cur:
            await one_store(cur, store_id, store_work)

    with cpu.Meter(lambda: pids) as meter:
        began = time.perf_counter()
        await asyncio.gather(
            *(run(conn, store_id, store_work) for conn, (store_id, _), store_work in zip(connections, stores, work))
        )
        seconds = time.perf_counter() - began
    return seconds, meter.seconds


async def function_run(connections, entity_name, texts, stores):
    query = sql.SQL("SELECT status, skipped_count FROM {}(%s, %s::jsonb)").format(
        sql.Identifier(ENTITIES[entity_name].sql_function)
    )

    async def one_store(cur, store_id, store_texts):
        for text in store_texts:
            await cur.execute(query, (store_id, text))
            status, skipped = await cur.fetchone()
            if status != "completed" or skipped:
                raise BenchError(f"{entity_name} batch: {status}, {skipped} skipped")

    return await timed_per_store(connections, stores, texts, one_store)


# --- rows: a WooCommerce record as the columns it is stored in --------------


def timestamp(value):
    """A WooCommerce *_gmt value (no offset: UTC) as PostgreSQL timestamptz input."""
    if value is None or value.endswith("Z") or "+" in value[10:]:
        return value
    return value + "+00:00"


def money(value):
    return value if value not in (None, "") else None


def product_row(record):
    categories = record.get("categories") or []
    return (
        record["id"],
        record["name"],
        record.get("sku"),
        money(record.get("price")),
        money(record.get("regular_price")),
        money(record.get("sale_price")),
        categories[0]["id"] if categories else None,
        [c["id"] for c in categories],
        categories[0]["name"] if categories else None,
        record.get("stock_quantity"),
        record.get("stock_status"),
        record.get("status"),
        record.get("type"),
        timestamp(record.get("date_created_gmt")),
        timestamp(record.get("date_modified_gmt")),
    )


def customer_row(record):
    email = (record.get("email") or "").strip()
    email_hash = hashlib.sha256(email.lower().encode()).hexdigest() if email else None
    return (
        record["id"],
        email_hash,
        record.get("display_name"),
        money(record.get("total_spent")),
        record.get("order_count"),
        timestamp(record.get("first_order_date")),
        timestamp(record.get("last_order_date")),
        timestamp(record.get("date_created_gmt")),
        timestamp(record.get("date_modified_gmt")),
    )


def category_row(record):
    return (record["id"], record["name"], record.get("slug"), record.get("parent") or None, record.get("count"))


# Each is the row of database.SCRATCH_COLUMNS[entity] after store_id.
ROWS = {"products": product_row, "customers": customer_row, "categories": category_row}


# --- copy ------------------------------------------------------------------


def csv_field(value):
    if isinstance(value, list):
        return "{" + ",".join(map(str, value)) + "}"
    return value


def copy_prepare(entity_name, client_batches):
    """Each batch as CSV lines without their store_id, which each run prepends."""
    to_row = ROWS[entity_name]
    prepared = []
    for batches in client_batches:
        texts = []
        for batch in batches:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            for record in batch:
                writer.writerow([csv_field(value) for value in to_row(record)])
            texts.append(out.getvalue().splitlines(keepends=True))
        prepared.append(texts)
    return prepared


def copy_connections(url, count):
    """count psycopg2 connections in autocommit (one transaction per COPY, as per batch elsewhere),
    each a client's for a whole case."""
    connections = [psycopg2.connect(url) for _ in range(count)]
    for conn in connections:
        conn.autocommit = True
    return connections


def copy_run(connections, entity_name, lines, stores, table):
    """(seconds, backends' CPU seconds) of one COPY per batch into table; one thread per store, on its
    connection of the case (psycopg2, autocommit; see timed_per_store)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, database.SCRATCH_COLUMNS[entity_name])),
    )
    # The store's id is the first column: formatted here, before the clock starts.
    payloads = [
        [("".join(f"{store_id},{line}" for line in batch)).encode() for batch in store_lines]
        for (store_id, _), store_lines in zip(stores, lines)
    ]
    pids = [conn.get_backend_pid() for conn in connections]

    def one_store(conn, store_payloads):
        with conn.cursor() as cur:
            for payload in store_payloads:
                cur.copy_expert(statement, io.BytesIO(payload))

    with concurrent.futures.ThreadPoolExecutor(len(stores)) as pool, cpu.Meter(lambda: pids) as meter:
        began = time.perf_counter()
        for future in [pool.submit(one_store, conn, p) for conn, p in zip(connections, payloads)]:
            future.result()
        seconds = time.perf_counter() - began
    return seconds, meter.seconds


# --- naive -----------------------------------------------------------------


def naive_statement(entity_name):
    """INSERT ... ON CONFLICT (store_id, wc_<entity>_id) DO UPDATE for one record.

    References are resolved by a subquery, as the SQL functions' joins do;
    a product's category links are written by the same statement.
    """
    columns = database.SCRATCH_COLUMNS[entity_name]
    table = sql.Identifier(entity_name)
    values = [sql.Placeholder(column) for column in columns]
    names = [sql.Identifier(column) for column in columns]
    resolve = {"products": ("category_id", "wc_category_id"), "categories": ("parent_id", "wc_parent_id")}
    if entity_name in resolve:
        target, source = resolve[entity_name]
        names.append(sql.Identifier(target))
        values.append(
            sql.SQL("(SELECT r.id FROM {} r WHERE r.store_id = %(store_id)s AND r.wc_category_id = {})").format(
                sql.Identifier("categories"), sql.Placeholder(source)
            )
        )
    updates = [sql.SQL("{0} = excluded.{0}").format(name) for name in names[2:]]
    upsert = sql.SQL(
        "INSERT INTO {} AS t ({}) VALUES ({}) ON CONFLICT (store_id, {}) DO UPDATE SET {}, synced_at = now()"
    ).format(
        table,
        sql.SQL(", ").join(names),
        sql.SQL(", ").join(values),
        sql.Identifier(ENTITIES[entity_name].id_field),
        sql.SQL(", ").join(updates),
    )
    if entity_name != "products":
        return upsert
    return sql.SQL(
        "WITH written AS ({} RETURNING t.id) "
        "INSERT INTO {} (store_id, product_id, wc_category_id, position) "
        "SELECT %(store_id)s, w.id, link.id, link.n - 1 "
        "  FROM written w, unnest(%(wc_category_ids)s::bigint[]) WITH ORDINALITY AS link (id, n) "
        "ON CONFLICT (store_id, product_id, wc_category_id) DO UPDATE SET position = excluded.position"
    ).format(upsert, sql.Identifier("product_categories"))


async def naive_run(connections, entity_name, client_batches, stores):
    """Converts each record in Python (emails hashed here) and upserts it on its own."""
    statement = naive_statement(entity_name)
    columns = database.SCRATCH_COLUMNS[entity_name]
    to_row = ROWS[entity_name]

    async def one_store(cur, store_id, batches):
        for batch in batches:
            for record in batch:
                await cur.execute(statement, dict(zip(columns, (store_id, *to_row(record)))))

    return await timed_per_store(connections, stores, client_batches, one_store)

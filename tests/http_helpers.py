"""Helpers shared by the HTTP tests: records, the rows they left, the error envelope, lock waits,
webhook bodies and their signatures."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.request

from psycopg2 import sql

from service.batch.entities import ENTITIES


def record(entity, wc_id, name="x", **fields):
    return {ENTITIES[entity].id_field: wc_id, ENTITIES[entity].value_field: name, **fields}


def stored(query, entity, store_id):
    """{wc id: name column} of the store's rows of entity; fails if an id is stored twice."""
    rows = query(
        sql.SQL("SELECT {} AS wc_id, {} AS name FROM {} WHERE store_id = %s").format(
            sql.Identifier(ENTITIES[entity].id_field),
            sql.Identifier(ENTITIES[entity].value_field),
            sql.Identifier(entity),
        ),
        (store_id,),
    )
    ids = [row["wc_id"] for row in rows]
    assert len(ids) == len(set(ids)), "an id is stored twice"
    return {row["wc_id"]: row["name"] for row in rows}


def nothing_written(query, store_id):
    """Asserts that the store has no rows, no sync log and no last_sync_at."""
    for table in ("products", "customers", "categories", "orders", "sync_logs"):
        count = query(
            sql.SQL("SELECT count(*) AS n FROM {} WHERE store_id = %s").format(sql.Identifier(table)), (store_id,)
        )
        assert count == [{"n": 0}], table
    assert query("SELECT last_sync_at FROM stores WHERE id = %s", (store_id,)) == [{"last_sync_at": None}]


def assert_error(response, status, code):
    """Asserts the status and the error envelope, exactly (a batch's 5xx also names its sync
    log: syncLogId); returns its message."""
    assert response.code == status, response.body
    body = json.loads(response.body)
    error = body["error"]
    named_log = {"syncLogId": error["syncLogId"]} if "syncLogId" in error else {}
    assert body == {"success": False, "error": {"code": code, "message": error["message"], **named_log}}
    assert error["message"]
    return error["message"]


async def blocked_batch_pid(query, function, timeout=10):
    """The backend of the request running `function` (e.g. upsert_products), once it waits on a lock."""
    [pid] = await blocked_batch_pids(query, function, 1, timeout)
    return pid


async def blocked_batch_pids(query, function, count, timeout=10):
    """The backends of `count` requests running `function`, once that many wait on a lock."""
    for _ in range(int(timeout / 0.02)):
        rows = query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            (f"%{function}%",),
        )
        if len(rows) >= count:
            return [row["pid"] for row in rows][:count]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} of {function} never waited on a lock")


def wc_json(resource):
    """The body as WooCommerce sends it: wp_json_encode, compact, slashes escaped."""
    return json.dumps(resource, separators=(",", ":")).replace("/", "\\/").encode()


def signature(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def wait_for_health(base, process=None, timeout=60):
    """Returns once the server at base answers GET /health; fails if process (its Popen) exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            assert process is None or process.poll() is None, "the server exited"
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)

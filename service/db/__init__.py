"""The service's database access: a connection pool and the few queries it runs.

All database logic lives in the SQL functions of sql/; this module only calls
them. aiopg connections are in autocommit, so every statement below is its
own transaction; a batch's upserts are one function call, hence atomic.
"""

import asyncio
import contextlib
import functools
import logging
import math
from dataclasses import dataclass

import aiopg
import psycopg2
import psycopg2.errors
from psycopg2.extensions import QuotedString, quote_ident

log = logging.getLogger("wcsync.db")


async def create_pool(config):
    # aiopg's own timeout must outlast the server's, so that a stuck batch
    # ends as a statement timeout the database has already rolled back.
    pool = await aiopg.create_pool(
        config.database_url,
        minsize=1,
        maxsize=config.pool_size,
        timeout=config.statement_timeout_ms / 1000 + 10,
        # UTF8: the batches' JSON is sent as the UTF-8 bytes it was written in (write_batch)
        options=f"-c statement_timeout={config.statement_timeout_ms} -c client_encoding=UTF8",
        on_connect=functools.partial(
            keep_statements_out_of_the_server_log, allow_statement_logging=config.allow_statement_logging
        ),
    )
    pool.waiting = 0  # callers of connection() without one yet (GET /metrics); aiopg counts none
    # Callers are served in the order they came (acquire): aiopg hands a connection given back to
    # whichever caller asks next, and a waiter it woke that finds the connection gone waits again
    # at the back of its queue (aiopg/pool.py, _acquire): under load, some would wait past
    # POOL_WAIT_S (503) while the queue serves the others within a second or two.
    pool.turns = asyncio.Semaphore(config.pool_size)  # its waiters go in order, and no newcomer before them
    pool.handed_out = 0  # connections acquire() has given callers so far: the queue's pace (PoolBusy)
    pool.wait_s = config.pool_wait_s  # how long a caller waits for a connection at most (PoolBusy)
    return pool


# What each session sets so that PostgreSQL logs none of the service's statements: psycopg2 sends
# parameters inside the statement, so a logged batch (slow, failed, or any under log_statement)
# would put its records, emails included, in the server log.
NO_STATEMENT_LOG = {"log_min_duration_statement": "-1", "log_statement": "none", "log_min_error_statement": "panic"}


class StatementLogging(RuntimeError):
    """The service's role cannot turn the statement log off: the command line says so in one line."""


async def keep_statements_out_of_the_server_log(conn, allow_statement_logging=False):
    """Sets NO_STATEMENT_LOG on a new connection of the pool. Each needs a superuser or, on
    PostgreSQL 15+, `GRANT SET ON PARAMETER`; without it, StatementLogging, or only a warning
    when ALLOW_STATEMENT_LOGGING is set."""
    refused = []
    async with conn.cursor() as cur:
        for name, value in NO_STATEMENT_LOG.items():
            try:
                await cur.execute(f"SET {name} = {value}")
            except psycopg2.errors.InsufficientPrivilege:
                refused.append(name)
    if not refused:
        return
    role = quote_ident(conn.raw.info.user, conn.raw)
    message = (
        f"PostgreSQL may log the service's statements, with their data: role {role} cannot set "
        f"{', '.join(refused)}; as a superuser, run GRANT SET ON PARAMETER {', '.join(refused)} TO {role} "
        "(or set ALLOW_STATEMENT_LOGGING=1 to run all the same)"
    )
    if not allow_statement_logging:
        conn.close()
        raise StatementLogging(message)
    log.warning(message)


@dataclass
class BatchResult:
    """What a batch came to: the SQL type sync_result, read into Python."""

    sync_log_id: str
    status: str  # completed or failed
    synced_count: int
    unchanged_count: int
    skipped_count: int
    errors: list  # [{index, id, reason}], indexes into the records sent
    error_message: str  # why a failed batch failed, as kept in sync_logs; never sent to the client


async def execute(cur, query, params=()):
    """cur.execute, but a query the server cancelled raises QueryCanceledError.

    aiopg turns a server-side cancel (statement timeout, pg_cancel_backend)
    into asyncio.CancelledError, which would pass for a cancelled request.
    """
    try:
        await cur.execute(query, params)
    except asyncio.CancelledError as exc:
        cancelled_query = exc.__context__
        if asyncio.current_task().cancelling() or not isinstance(cancelled_query, psycopg2.Error):
            raise
        raise cancelled_query from None


# The longest Retry-After a busy pool's 503 asks for: the queue an estimate is drawn from will have
# changed long before, and a plugin's bounded retries (8) should still span minutes, not an hour.
MAX_RETRY_AFTER_S = 30


class PoolBusy(TimeoutError):
    """No connection of the pool came free within POOL_WAIT_S: the caller answers 503 with
    Retry-After retry_after (whole seconds), never queues on."""

    def __init__(self, wait_s, retry_after):
        super().__init__(f"no connection within {wait_s} s")
        self.retry_after = retry_after


def queue_seconds(waiting, wait_s, handed_out):
    """Retry-After for a caller that waited wait_s in vain while handed_out connections went to
    others: how long the `waiting` callers still queued, and it once back, take to be served at that
    pace. None handed out means only slower than one a wait, so one is assumed: a lower bound,
    as a Retry-After should be. From 1 to MAX_RETRY_AFTER_S."""
    return min(MAX_RETRY_AFTER_S, max(1, math.ceil((waiting + 1) * wait_s / max(handed_out, 1))))


async def acquire(pool):
    """A connection of the pool, in the caller's turn (pool.turns), within pool.wait_s (else
    PoolBusy, with queue_seconds' Retry-After); give it back with release(). The caller is counted
    in pool.waiting until it has its connection and in pool.handed_out once it has."""
    pool.waiting += 1
    handed_out = pool.handed_out
    try:
        async with asyncio.timeout(pool.wait_s):
            await pool.turns.acquire()
            try:
                conn = await acquire_past_a_race(pool)
            except BaseException:
                pool.turns.release()
                raise
            pool.handed_out += 1
            return conn
    except TimeoutError:
        if asyncio.current_task().cancelling():
            raise
        others = pool.handed_out - handed_out
        raise PoolBusy(pool.wait_s, queue_seconds(pool.waiting - 1, pool.wait_s, others)) from None
    finally:
        pool.waiting -= 1


async def acquire_past_a_race(pool):
    """pool.acquire(), past a race of aiopg's: a free connection that dies while the pool opens
    another fails acquire's `assert not conn.closed` (aiopg/pool.py, _acquire). The dead one is out
    of the pool by then, so acquiring again gets a live one."""
    for attempt in (1, 2, 3):
        try:
            return await pool.acquire()
        except AssertionError:
            if attempt == 3:
                raise


async def release(pool, conn):
    """Gives back a connection of acquire(), and its turn to the next caller waiting."""
    try:
        await pool.release(conn)
    finally:
        pool.turns.release()


@contextlib.asynccontextmanager
async def connection(pool):
    """A connection of the pool (acquire()), given back at the end."""
    conn = await acquire(pool)
    try:
        yield conn
    finally:
        await release(pool, conn)


# A store's batches in flight are counted by session advisory locks, the one place every worker
# process and service instance sharing the database sees: slot n of store s is the lock whose
# 64-bit key is slot_key(s, n) (32-bit keys, hashtext's, let two stores of a few hundred thousand
# share a slot). The first free one is taken without waiting (generate_series yields 1, 2, ... and
# LIMIT stops at the first lock taken); none free: the store is at its limit.
def slot_key(store_id, number):
    """The SQL expression of slot `number`'s lock key for store `store_id` (SQL expressions too)."""
    return f"hashtextextended('wcsync-inflight:' || {store_id}::text || ':' || {number}, 0)"


TAKE_SLOT = f"""
    SELECT n FROM generate_series(1, %s) AS n
     WHERE pg_try_advisory_lock({slot_key("%s", "n")})
     LIMIT 1
"""
RELEASE_SLOT = f"SELECT pg_advisory_unlock({slot_key('%s', '%s')})"


class Slot:
    """One of a store's in-flight slots: a connection of the pool, holding the slot's advisory lock
    for as long as the batch runs on it. release() unlocks it and gives the connection back; a
    connection that dies (or cannot unlock) takes its lock with it, as its session ends."""

    def __init__(self, pool, conn, store_id, number):
        self.pool, self.conn, self.store_id, self.number = pool, conn, store_id, number

    async def release(self):
        conn, self.conn = self.conn, None
        if conn is None:  # released already
            return
        try:
            if not conn.closed:
                async with conn.cursor() as cur:
                    await execute(cur, RELEASE_SLOT, (self.store_id, self.number))
        except (TimeoutError, psycopg2.Error, asyncio.CancelledError):
            conn.close()  # the lock goes with the session
            log.warning("in-flight slot %d of store %s released by closing its connection", self.number, self.store_id)
        finally:
            await release(self.pool, conn)


async def take_slot(pool, store_id, limit):
    """A Slot of the store, on a connection of its own; None when the store has `limit` batches in
    flight already (across every process sharing the database). PoolBusy when no connection
    comes free in time. A dead idle connection (the database restarted) is dropped and the slot
    tried once more on a new one, as fetch_one does."""
    for attempt in (1, 2):
        conn = await acquire(pool)
        try:
            async with conn.cursor() as cur:
                await execute(cur, TAKE_SLOT, (limit, store_id))
                row = await cur.fetchone()
        except BaseException as exc:
            conn.close()  # whether or not the lock was taken, it goes with the session
            await release(pool, conn)
            if attempt == 1 and isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
                await pool.clear()
                continue
            raise
        if row is None:
            await release(pool, conn)
            return None
        return Slot(pool, conn, store_id, row[0])


async def fetch_one(pool, query, params=()):
    """The first row of a statement that is safe to run twice.

    A restarted database leaves the pool's idle connections dead, which only
    using one reveals. Then the idle ones are dropped and the statement runs
    once more, on a new connection, instead of failing the request.
    """
    for attempt in (1, 2):
        conn = None
        try:
            async with connection(pool) as conn, conn.cursor() as cur:
                await execute(cur, query, params)
                return await cur.fetchone()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if attempt == 2 or conn is None or not conn.closed:
                raise
            await pool.clear()


async def store_for_token(pool, token_hash):
    """(store_id, status) of a live token, or None."""
    return await fetch_one(pool, "SELECT store_id, status FROM store_for_token(%s)", (token_hash,))


@dataclass(frozen=True)
class RunBatch:
    """A batch's place in a full sync run (X-Sync-Run, X-Sync-Batch)."""

    run_id: str
    number: int


# A batch's 'running' log (step 1 of sql/sync_batch.sql), committed without waiting for the disk
# (about 2 ms a batch here): the batch's own commit right after flushes the log with it, as the
# write-ahead log is flushed in order. A crash in between loses the log with the batch, which it
# would only have shown as running; the client gets no answer but an error either way.
START_LOG = "SELECT sync_log_start(%s, %s, %s, %s, %s, %s::bigint[]) FROM set_config('synchronous_commit', 'off', true)"


async def write_batch(pool, store_id, entity, records_json, records_received, run=None, skipped_ids=(), slot=None):
    """Runs one batch through the entity's SQL function; records_json is UTF-8 bytes, quoted as
    they are (a text would be encoded again first: twice the cost of quoting a batch).

    The 'running' sync log is committed first (retried on a dead connection:
    at worst that leaves a second 'running' log, which sync_log_start()
    sweeps later); if the function call then dies (connection lost, statement
    timeout), settle() finds out from a fresh connection what became of it. A batch of a run (run, a RunBatch) also names the ids of
    the records skipped before the call that had a valid one: they count as
    carried (sql/sync_runs.sql). With a slot (take_slot), both run on the slot's connection.
    """
    run_id, number = (run.run_id, run.number) if run else (None, None)
    start = (START_LOG, (store_id, entity.name, records_received, run_id, number, list(skipped_ids)))
    if slot is None:
        (sync_log_id,) = await fetch_one(pool, *start)
    else:  # the slot's connection is the batch's: not retried elsewhere, its slot would not follow
        async with slot.conn.cursor() as cur:
            await execute(cur, *start)
            (sync_log_id,) = await cur.fetchone()
    try:
        async with contextlib.AsyncExitStack() as stack:
            conn = slot.conn if slot is not None else await stack.enter_async_context(connection(pool))
            cur = await stack.enter_async_context(conn.cursor())
            await execute(cur, entity.query, (store_id, as_parameter(records_json, conn.raw), sync_log_id))
            row = await cur.fetchone()
    except (TimeoutError, psycopg2.Error) as exc:
        settled = await settle(pool, store_id, sync_log_id, exc)
        if settled is None:
            raise BatchNotStored(sync_log_id) from exc
        return settled
    return BatchResult(*row)


def as_parameter(json_bytes, conn):
    """UTF-8 JSON as a parameter of conn's statements: the bytes themselves, quoted as they are,
    where the session reads UTF-8 (as create_pool asks); a text, encoded by psycopg2 for the
    session, where a DATABASE_URL that names another client_encoding overrides that."""
    return QuotedString(json_bytes) if conn.encoding == "UTF8" else json_bytes.decode()


class BatchNotStored(Exception):
    """A batch's call failed and nothing of it is stored; its sync log (failed, or settled by
    the store's next batch if the database was away) is sync_log_id. The cause is __cause__."""

    def __init__(self, sync_log_id):
        super().__init__(f"sync log {sync_log_id}")
        self.sync_log_id = sync_log_id


async def settle(pool, store_id, sync_log_id, exc):
    """What became of a batch whose call failed: its BatchResult, from its log, if it committed
    all the same (the connection died after the commit, before the answer came back), else None.

    sync_log_settle() waits for the batch if it still runs (a cut connection is noticed by its
    backend only when it answers), so the answer is final: at most a statement timeout later.
    The per-record errors are gone with the connection: errors is None.
    """
    first_line = str(exc).strip().partition("\n")[0]
    message = f"{type(exc).__name__}: {first_line}"
    code = exc.pgcode if isinstance(exc, psycopg2.Error) and exc.pgcode else type(exc).__name__
    try:
        status, synced, unchanged, skipped = await fetch_one(
            pool, "SELECT * FROM sync_log_settle(%s, %s, %s, %s)", (store_id, sync_log_id, message, code)
        )
    except (TimeoutError, psycopg2.Error) as settle_exc:  # the database may still be away: the next batch settles it
        log.warning("could not settle sync log %s: %s", sync_log_id, type(settle_exc).__name__)
        return None
    if status != "completed":
        return None
    log.warning("sync log %s: the batch committed, its answer was lost (%s)", sync_log_id, type(exc).__name__)
    return BatchResult(sync_log_id, status, synced, unchanged, skipped, None, None)


async def ping(pool):
    return await fetch_one(pool, "SELECT 1")


async def entity_id_columns(pool):
    """{entity: its WooCommerce id column}, as the database's table entities has them."""
    (columns,) = await fetch_one(pool, "SELECT coalesce(jsonb_object_agg(name, id_column), '{}') FROM entities")
    return columns


# Full sync runs (sql/sync_runs.sql). Each is one statement; a retry on a dead connection
# (fetch_one) that follows one the database did run is refused as a conflict, not repeated.


async def run_start(pool, store_id, entities, expected_json):
    (run_id,) = await fetch_one(
        pool, "SELECT sync_run_start(%s, %s::text[], %s::jsonb)", (store_id, entities, expected_json)
    )
    return str(run_id)


async def run_complete(pool, store_id, run_id, batches_json):
    await fetch_one(pool, "SELECT count(*) FROM sync_run_complete(%s, %s, %s::jsonb)", (store_id, run_id, batches_json))


async def run_abort(pool, store_id, run_id):
    await fetch_one(pool, "SELECT sync_run_abort(%s, %s)", (store_id, run_id))


async def run_status(pool, store_id, run_id):
    """The run as the API shows it, or None."""
    (status,) = await fetch_one(pool, "SELECT sync_run_status(%s, %s)", (store_id, run_id))
    return status


async def sync_status(pool, store_id):
    (status,) = await fetch_one(pool, "SELECT sync_status(%s)", (store_id,))
    return status


# WooCommerce's webhooks (sql/webhooks.sql).


async def webhook_secret(pool, store_id, key):
    """(store status, webhook secret or None), or None for an unknown store."""
    return await fetch_one(pool, "SELECT status, secret FROM webhook_secret(%s, %s)", (store_id, key))


async def delivery_seen(pool, store_id, delivery):
    """Whether the store has recorded a webhooks.Delivery of the same id, topic and body."""
    (seen,) = await fetch_one(
        pool,
        "SELECT webhook_delivery_seen(%s, %s, %s, %s)",
        (store_id, delivery.delivery_id, delivery.topic, delivery.body_sha256),
    )
    return seen


async def mark_deleted(pool, store_id, entity, wc_id):
    """Whether the store had the row, now marked deleted."""
    (found,) = await fetch_one(pool, "SELECT mark_deleted(%s, %s, %s)", (store_id, entity.name, wc_id))
    return found


async def record_delivery(pool, store_id, delivery):
    """Records a webhooks.Delivery; returns the outcome recorded (duplicate, if an identical one came first)."""
    (outcome,) = await fetch_one(
        pool,
        "SELECT webhook_delivery_record(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            store_id,
            delivery.delivery_id,
            delivery.webhook_id,
            delivery.topic,
            delivery.body_sha256,
            delivery.outcome,
            delivery.reason,
            delivery.wc_id,
            delivery.sync_log_id,
        ),
    )
    return outcome

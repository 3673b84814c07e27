"""The pool's connections keep batches (and the emails in them) out of PostgreSQL's log; callers get
connections in the order they came, and one that waits past POOL_WAIT_S is told how long the queue
it leaves takes."""

import asyncio
import dataclasses
import json
import logging

import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from service import db
from service.batch.entities import CATEGORIES

PLAIN_ROLE = "wcsync_test_plain"  # a login role without the privilege to set the parameter


async def setting_on_a_pool_connection(config):
    pool = await db.create_pool(config)
    try:
        (value,) = await db.fetch_one(pool, "SHOW log_min_error_statement")
        return value
    finally:
        pool.close()
        await pool.wait_closed()


@pytest.mark.gen_test
async def test_failed_statements_are_not_logged_with_their_data(config):
    assert await setting_on_a_pool_connection(config) == "panic"


@pytest.mark.gen_test
async def test_without_the_privilege_the_pool_works_and_warns(config, query, caplog):
    query(
        sql.SQL(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) "
            "THEN CREATE ROLE {} LOGIN; END IF; END $$"
        ).format(sql.Literal(PLAIN_ROLE), sql.Identifier(PLAIN_ROLE))
    )
    plain = dataclasses.replace(config, database_url=make_dsn(config.database_url, user=PLAIN_ROLE))
    caplog.set_level(logging.WARNING, logger="wcsync.db")

    try:
        assert await setting_on_a_pool_connection(plain) == "error"  # the server's default, left as it was
        assert "cannot set log_min_error_statement" in caplog.text
    finally:
        query(sql.SQL("DROP ROLE {}").format(sql.Identifier(PLAIN_ROLE)))


@pytest.mark.parametrize("encoding", [None, "LATIN1"])
@pytest.mark.gen_test
async def test_a_batch_arrives_as_sent_whatever_the_client_encoding(config, make_store, query, encoding):
    """The batch's JSON is sent as UTF-8 bytes where the session reads UTF-8 (create_pool asks for
    it), and as text, encoded for the session, where the URL names another encoding."""
    url = config.database_url if encoding is None else make_dsn(config.database_url, client_encoding=encoding)
    pool = await db.create_pool(dataclasses.replace(config, database_url=url))
    store = make_store()
    name = "Café O'Brien \\\\ ü"
    try:
        async with db.connection(pool) as conn:
            assert conn.raw.encoding == (encoding or "UTF8")
        records = json.dumps([{"wc_category_id": 1, "name": name}], ensure_ascii=False).encode()
        result = await db.write_batch(pool, store.id, CATEGORIES, records, 1)
    finally:
        pool.close()
        await pool.wait_closed()
    assert (result.status, result.synced_count) == ("completed", 1)
    assert query("SELECT name FROM categories WHERE store_id = %s", (store.id,)) == [{"name": name}]


@pytest.mark.parametrize("config", [{"pool_size": 1, "pool_wait_s": 2}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_a_busy_pools_retry_after_follows_the_queues_pace(config):
    """The pool's one connection goes to two callers in turn, each holding it 1.3 s; six more queue
    behind them and give up after their 2 s, two connections handed out meanwhile. Each is told the
    time the callers still queued, and it, take at that pace: the first (5 + 1) x 2 s / 2, the last 1 s."""
    pool = await db.create_pool(config)

    async def hold_for(seconds):
        async with db.connection(pool):
            await asyncio.sleep(seconds)

    async def given_up():
        with pytest.raises(db.PoolBusy) as busy:
            await db.acquire(pool)
        return busy.value.retry_after

    try:
        held = await db.acquire(pool)
        queue = []
        for caller in [hold_for(1.3), hold_for(1.3), *(given_up() for _ in range(6))]:
            queue.append(asyncio.ensure_future(caller))
            while pool.waiting < len(queue):  # each in the queue before the next: served in this order
                await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        await db.release(pool, held)
        assert (await asyncio.gather(*queue))[2:] == [6, 5, 4, 3, 2, 1]
    finally:
        pool.close()
        await pool.wait_closed()


@pytest.mark.parametrize("config", [{"pool_size": 1}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_callers_get_connections_in_the_order_they_came(config):
    """A connection given back goes to the caller waiting longest, not to one asking at that moment
    (aiopg alone hands it to the newcomer, and sends the waiter to the back of its queue)."""
    pool = await db.create_pool(config)
    try:
        held = await db.acquire(pool)
        waiter = asyncio.ensure_future(db.acquire(pool))
        while pool.waiting < 1:
            await asyncio.sleep(0)
        giving_back = asyncio.ensure_future(db.release(pool, held))
        newcomer = asyncio.ensure_future(db.acquire(pool))
        await giving_back
        conn = await waiter
        assert not newcomer.done()
        await db.release(pool, conn)
        await db.release(pool, await newcomer)
    finally:
        pool.close()
        await pool.wait_closed()

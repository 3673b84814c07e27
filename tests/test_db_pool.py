"""The pool's connections keep batches (and the emails in them) out of PostgreSQL's log; callers get
connections in the order they came, and one that waits past POOL_WAIT_S is told how long the queue
it leaves takes."""

import asyncio
import dataclasses
import json
import logging
import os
import subprocess
import sys
import uuid
from contextlib import closing

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn
from tornado.httpclient import AsyncHTTPClient

from bench.server import free_port
from service import db
from service.batch.entities import CATEGORIES
from service.http.server import serve


@pytest.fixture
def make_role(query):
    """make_role(can_set=False) -> a config whose database_url logs in as a new non-superuser role
    with the rights to run the service, and GRANT SET ON PARAMETER on NO_STATEMENT_LOG if can_set.
    Its sessions default to logging every statement, as a careless server might."""
    roles = []

    def make(config, can_set=False):
        role = sql.Identifier(f"wcsync_test_role_{uuid.uuid4().hex[:8]}")  # roles are the server's: shared
        roles.append(role)
        query(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        query(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role))
        query(sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))
        query(sql.SQL("ALTER ROLE {} SET log_min_duration_statement = 0").format(role))
        query(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(role))
        if can_set:
            parameters = sql.SQL(", ").join(map(sql.Identifier, db.NO_STATEMENT_LOG))
            query(sql.SQL("GRANT SET ON PARAMETER {} TO {}").format(parameters, role))
        return dataclasses.replace(config, database_url=make_dsn(config.database_url, user=role.strings[0]))

    yield make
    for role in roles:  # DROP OWNED takes the grants, on the parameters too
        query(sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(role, role))


async def settings_on_a_pool_connection(config):
    pool = await db.create_pool(config)
    try:
        names = list(db.NO_STATEMENT_LOG)
        row = await db.fetch_one(pool, "SELECT " + ", ".join(f"current_setting('{name}')" for name in names))
        return dict(zip(names, row))
    finally:
        pool.close()
        await pool.wait_closed()


@pytest.mark.gen_test
async def test_a_superusers_sessions_log_no_statement(config):
    assert await settings_on_a_pool_connection(config) == db.NO_STATEMENT_LOG


@pytest.mark.gen_test
async def test_a_role_granted_the_parameters_logs_no_statement(config, make_role):
    assert await settings_on_a_pool_connection(make_role(config, can_set=True)) == db.NO_STATEMENT_LOG


def test_without_the_grants_the_service_refuses_to_start_in_one_line(config, make_role):
    plain = make_role(config)
    env = {**os.environ, "DATABASE_URL": plain.database_url, "PORT": str(free_port()), "WEBHOOK_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve"], env=env, capture_output=True, text=True, timeout=30
    )
    role = f'"{parse_dsn(plain.database_url)["user"]}"'
    assert done.returncode == 1
    assert done.stderr == (
        f"PostgreSQL may log the service's statements, with their data: role {role} cannot set "
        "log_min_duration_statement, log_statement, log_min_error_statement; as a superuser, run "
        f"GRANT SET ON PARAMETER log_min_duration_statement, log_statement, log_min_error_statement TO {role} "
        "(or set ALLOW_STATEMENT_LOGGING=1 to run all the same)\n"
    )


@pytest.mark.gen_test
async def test_allow_statement_logging_runs_without_the_grants_and_warns(config, make_role, caplog):
    plain = dataclasses.replace(make_role(config), allow_statement_logging=True)
    caplog.set_level(logging.WARNING, logger="wcsync.db")
    settings = await settings_on_a_pool_connection(plain)
    assert settings["log_min_duration_statement"] == "0"  # the role's, left as it was
    assert "PostgreSQL may log the service's statements" in caplog.text


def server_log(query):
    """(path, size) of each file the server may log to: where its log collector writes, the
    embedded server's server.log, Debian's file for its cluster; those that exist."""
    [paths] = query(
        """SELECT ARRAY[current_setting('data_directory') || '/' || pg_current_logfile(),
                        current_setting('data_directory') || '/server.log',
                        '/var/log/postgresql/postgresql-'
                        || current_setting('server_version_num')::int / 10000 || '-main.log'] AS paths"""
    )
    found = {}
    for path in filter(None, paths["paths"]):
        [row] = query("SELECT (pg_stat_file(%s, true)).size", (path,))
        if row["size"] is not None:
            found[path] = row["size"]
    return found


def logged_since(query, sizes):
    """What each file of server_log() got since: {path: text}."""
    return {
        path: query("SELECT pg_read_file(%s, %s, 100000000) AS text", (path, size))[0]["text"]
        for path, size in sizes.items()
    }


@pytest.mark.gen_test(timeout=30)
async def test_a_batchs_email_never_reaches_the_server_log(config, make_role, make_store, query):
    """Its role logs every statement by default (log_min_duration_statement = 0, log_statement =
    all); the service's sessions turn that off. A statement of another session of the role, sent
    after the batch, shows which file the log is."""
    granted = dataclasses.replace(make_role(config, can_set=True), port=free_port())
    store, email = make_store(), f"never-logged-{uuid.uuid4().hex}@example.com"
    before = server_log(query)
    stopping, ready = asyncio.Event(), asyncio.Event()
    server = asyncio.ensure_future(serve(granted, stopping, ready))
    try:
        await ready.wait()
        response = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{granted.port}/api/sync/customers",
            method="POST",
            headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
            body=json.dumps({"customers": [{"wc_customer_id": 1, "email": email, "first_name": "Ann"}]}),
        )
    finally:
        stopping.set()
        await asyncio.wait_for(server, 10)
    assert json.loads(response.body)["data"]["syncedCount"] == 1
    marker = f"logged-{uuid.uuid4().hex}"
    with closing(psycopg2.connect(granted.database_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT %s", (marker,))
    logs = [text for text in logged_since(query, before).values() if marker in text]
    if not logs:
        pytest.skip("the server's log is not readable here: the sessions' settings are tested above")
    assert email not in logs[0]


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

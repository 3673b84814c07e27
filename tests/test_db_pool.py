"""The pool's connections keep batches (and the emails in them) out of PostgreSQL's log."""

import dataclasses
import json
import logging

import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from service import db
from service.entities import CATEGORIES

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
        result = await db.sync_batch(pool, store.id, CATEGORIES, records, 1)
    finally:
        pool.close()
        await pool.wait_closed()
    assert (result.status, result.synced_count) == ("completed", 1)
    assert query("SELECT name FROM categories WHERE store_id = %s", (store.id,)) == [{"name": name}]

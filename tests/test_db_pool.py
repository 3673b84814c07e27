"""The pool's connections keep batches (and the emails in them) out of PostgreSQL's log."""

import dataclasses
import logging

import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from service import db

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

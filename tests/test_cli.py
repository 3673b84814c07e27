"""The command line: migrate, create-store, revoke-token."""
import io
from contextlib import closing
import uuid

import psycopg2
import pytest
from psycopg2 import sql

from service.__main__ import main
from service.auth import hash_token
from service.migrate import admin_connection, with_database
from sql_helpers import every_step


@pytest.fixture
def cli(database_url, monkeypatch, capsys):
    """cli(*args) -> (exit code, stdout, stderr), against the test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_create_store_prints_a_token_stored_only_as_hash(cli, query):
    code, out, err = cli("create-store", "--name", "Acme")
    assert code is None
    fields = dict(line.split(":", 1) for line in out.strip().splitlines())
    store_id, token = fields["store_id"].strip(), fields["token"].strip()
    assert len(token) >= 40
    assert "cannot be shown again" in err
    [store] = query("SELECT name, status FROM stores WHERE id = %s", (store_id,))
    assert store == {"name": "Acme", "status": "active"}
    [row] = query("SELECT token_hash FROM api_tokens WHERE store_id = %s", (store_id,))
    assert row["token_hash"] == hash_token(token)
    assert query("SELECT 1 FROM api_tokens WHERE token_hash = %s", (token,)) == []


def test_revoke_token(cli, store, query):
    assert cli("revoke-token", "--token", store.token)[:2] == (None, "token revoked\n")
    [row] = query("SELECT revoked_at FROM api_tokens WHERE store_id = %s", (store.id,))
    assert row["revoked_at"] is not None
    code, _, err = cli("revoke-token", "--token", store.token)
    assert code == 1 and "no live token" in err


def test_revoke_token_from_stdin(cli, store, query, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(store.token + "\n"))
    assert cli("revoke-token", "--token", "-")[0] is None
    assert query("SELECT 1 FROM store_for_token(%s)", (hash_token(store.token),)) == []


def test_migrate_creates_a_missing_database_and_is_idempotent(cli, database_url, monkeypatch):
    name = f"wcsync_test_migrate_{uuid.uuid4().hex[:8]}"
    url = with_database(database_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        _, out, _ = cli("migrate")
        assert out == f"applied: {', '.join(every_step())}\n"
        assert cli("migrate")[1] == "up to date\n"
    finally:
        conn = admin_connection(url)
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.close()


def test_a_command_is_required(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli()
    assert exit_info.value.code == 2


def test_db_url_prints_the_configured_database(cli, database_url):
    assert cli("db-url")[:2] == (None, database_url + "\n")


def test_psql_runs_on_the_service_database(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("psql", "-XAt", "-o", str(out), "-c", "SELECT count(*) FROM pg_proc WHERE proname = 'upsert_products'")[0] is None
    assert out.read_text() == "1\n"
    assert cli("psql", "-XAtc", "SELECT no_such_column")[0] == 1


def test_options_a_command_does_not_take_are_refused(cli):
    with pytest.raises(SystemExit) as exit_info:
        cli("migrate", "--nope")
    assert exit_info.value.code == 2


def test_migrate_applies_a_changed_sql_file_again(cli, query, database_url, monkeypatch):
    name = f"wcsync_test_resql_{uuid.uuid4().hex[:8]}"
    url = with_database(database_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        cli("migrate")
        with closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
            cur.execute("DROP FUNCTION upsert_customers(uuid, jsonb, uuid)")  # as an older file would not have it
            cur.execute("UPDATE _sql_files SET sha256 = 'older' WHERE name = 'upsert_customers.sql'")
        assert cli("migrate")[1] == "applied: sql/upsert_customers.sql\n"
        with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regprocedure('upsert_customers(uuid, jsonb, uuid)') IS NOT NULL")
            assert cur.fetchone() == (True,)
    finally:
        query(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

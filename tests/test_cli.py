"""The command line: migrate, create-store, create-token, revoke-token, suspend-store, resume-store, list-stores,
create-webhook-secret."""

import io
import json
import tempfile
import uuid
from contextlib import closing

import psycopg2
import pytest
from conftest import WEBHOOK_KEY
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from service.__main__ import main
from service.db.migrate import admin_connection, with_database
from service.http.auth import hash_token

from sql_helpers import columns_holding, every_step


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


def test_psql_runs_on_the_service_database(cli):
    with tempfile.NamedTemporaryFile("r") as out:  # not tmp_path: the suite leaves nothing in /tmp
        count = "SELECT count(*) FROM pg_proc WHERE proname = 'upsert_products'"
        assert cli("psql", "-XAt", "-o", out.name, "-c", count)[0] is None
        assert out.read() == "1\n"
    assert cli("psql", "-XAtc", "SELECT no_such_column")[0] == 1


def test_psql_gets_the_password_through_its_environment_never_its_arguments(cli, query, database_url, monkeypatch):
    role, password = f"wcsync_psql_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    query(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    monkeypatch.setenv("DATABASE_URL", make_dsn(database_url, user=role, password=password))
    try:
        with tempfile.NamedTemporaryFile("r") as out:
            # psql's \! runs a shell whose parent is psql: it writes psql's arguments, then its PGPASSWORD
            shell = f"\\! tr '\\0' '\\n' < /proc/$PPID/cmdline > {out.name}; echo \"$PGPASSWORD\" >> {out.name}"
            assert cli("psql", "-X", "-c", shell)[0] is None  # connected as the role
            *argv, given = out.read().splitlines()
    finally:
        query(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    assert not any(password in argument for argument in argv)
    assert f"user={role}" in argv[1]
    assert given == password


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


def token_of(out):
    [line] = [line for line in out.splitlines() if line.startswith("token:")]
    return line.split(":", 1)[1].strip()


def test_create_token_adds_a_live_token_to_an_existing_store(cli, store, query):
    code, out, err = cli("create-token", "--store", store.id)
    assert code is None and "cannot be shown again" in err
    token = token_of(out)
    assert f"store_id: {store.id}" in out and token != store.token
    for live in (token, store.token):
        assert query("SELECT store_id::text FROM store_for_token(%s)", (hash_token(live),)) == [{"store_id": store.id}]


def test_a_revoked_store_is_usable_again_with_a_new_token(cli, store, query):
    cli("revoke-token", "--token", store.token)
    token = token_of(cli("create-token", "--store", store.id)[1])
    assert query("SELECT status FROM store_for_token(%s)", (hash_token(token),)) == [{"status": "active"}]


@pytest.mark.gen_test
async def test_a_suspended_store_gets_403_until_it_is_resumed(cli, store, post):
    batch = {"categories": [{"wc_category_id": 1, "name": "c"}]}
    assert cli("suspend-store", "--store", store.id)[:2] == (None, f"store {store.id} is suspended\n")
    response = await post("/api/sync/categories", batch, store.token)
    assert response.code == 403 and json.loads(response.body)["error"]["code"] == "forbidden"

    assert cli("resume-store", "--store", store.id)[:2] == (None, f"store {store.id} is active\n")
    assert (await post("/api/sync/categories", batch, store.token)).code == 200


def test_list_stores_shows_status_last_sync_and_live_tokens_but_no_token(cli, make_store, sync_sql, query):
    synced, idle = make_store("Synced shop"), make_store("Idle shop")
    sync_sql("categories", synced.id, [{"wc_category_id": 1, "name": "c"}])
    extra = token_of(cli("create-token", "--store", synced.id)[1])
    cli("suspend-store", "--store", idle.id)
    cli("revoke-token", "--token", idle.token)
    [row] = query("SELECT last_sync_at FROM stores WHERE id = %s", (synced.id,))

    code, out, _ = cli("list-stores")

    assert code is None
    lines = out.splitlines()
    assert lines[0] == "id\tname\tstatus\tlast_sync\tlive_tokens"
    listed = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert listed[synced.id] == [synced.id, "Synced shop", "active", row["last_sync_at"].isoformat(), "2"]
    assert listed[idle.id] == [idle.id, "Idle shop", "suspended", "never", "0"]
    for secret in (synced.token, idle.token, extra, hash_token(synced.token), hash_token(extra)):
        assert secret not in out


@pytest.mark.parametrize("command", ["create-token", "suspend-store", "resume-store"])
def test_an_unknown_store_is_a_clear_error(cli, command, query):
    missing = str(uuid.uuid4())
    code, out, err = cli(command, "--store", missing)
    assert (code, out, err) == (1, "", f"no store {missing}\n")
    assert query("SELECT 1 FROM stores WHERE id = %s", (missing,)) == []


@pytest.mark.parametrize("command", ["create-token", "suspend-store", "resume-store"])
def test_a_malformed_store_id_is_refused_without_a_traceback(cli, command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--store", "wcs_not-a-uuid"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--store: must be a store id (a UUID)" in err
    assert "Traceback" not in err and "wcs_not-a-uuid" not in err


def webhook_secret_of(out):
    fields = dict(line.split(":", 1) for line in out.strip().splitlines())
    return fields["secret"].strip()


def test_create_webhook_secret_prints_it_once_and_keeps_it_encrypted(cli, store, query, monkeypatch):
    monkeypatch.setenv("WEBHOOK_KEY", WEBHOOK_KEY)
    code, out, err = cli("create-webhook-secret", "--store", store.id)
    assert code is None and "cannot be shown again" in err
    assert f"/api/webhooks/woocommerce/{store.id}" in out
    secret = webhook_secret_of(out)
    assert len(secret) >= 40
    assert columns_holding(query, [secret]) == []
    stored = query("SELECT secret FROM webhook_secret(%s, %s)", (store.id, WEBHOOK_KEY))
    assert stored == [{"secret": secret}]
    # Again: a new secret replaces it (rotation).
    rotated = webhook_secret_of(cli("create-webhook-secret", "--store", store.id)[1])
    assert rotated != secret
    assert query("SELECT secret FROM webhook_secret(%s, %s)", (store.id, WEBHOOK_KEY)) == [{"secret": rotated}]


def test_create_webhook_secret_refuses_an_unknown_store_or_no_key(cli, store, query, monkeypatch):
    monkeypatch.setenv("WEBHOOK_KEY", WEBHOOK_KEY)
    code, out, err = cli("create-webhook-secret", "--store", str(uuid.uuid4()))
    assert (code, out) == (1, "") and "no store" in err
    monkeypatch.delenv("WEBHOOK_KEY")
    code, out, err = cli("create-webhook-secret", "--store", store.id)
    assert (code, out) == (1, "") and "WEBHOOK_KEY is not set" in err
    assert query("SELECT 1 FROM webhook_secrets WHERE store_id = %s", (store.id,)) == []

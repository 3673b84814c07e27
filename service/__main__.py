"""The service's and the operator's command line: python -m service COMMAND (--help lists them)."""

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg2
import psycopg2.extensions

from .config import Config
from .db import StatementLogging, embedded
from .db.migrate import migrate
from .http import logs, server, workers
from .http.auth import hash_token, new_token
from .http.webhooks import new_secret

log = logging.getLogger("wcsync")

DATABASE_NAME = "wcsync"  # the embedded server's database


def embedded_cluster(config):
    return embedded.Cluster(Path(config.data_dir) / "postgres")


@contextlib.contextmanager
def database(config):
    """config, with a database: DATABASE_URL's, or the embedded server's, held until the block ends."""
    if config.database_url:
        yield config
        return
    with embedded_cluster(config) as cluster:
        log.info("database: embedded PostgreSQL in %s (python -m service db-url prints its URL)", cluster.directory)
        yield replace(config, database_url=cluster.url(DATABASE_NAME))


def query_all(config, query, params=()):
    conn = psycopg2.connect(config.database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()
    finally:
        conn.close()


def query_one(config, query, params):
    return query_all(config, query, params)[0]


def parse_store_id(value):
    """argparse type: a store id is a UUID; anything else is refused before reaching the database."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        # the value is not echoed: it may be a token pasted in the wrong place
        raise argparse.ArgumentTypeError("must be a store id (a UUID)") from None


def unknown_store(args):
    print(f"no store {args.store}", file=sys.stderr)
    return 1


def print_token(token):
    print(f"token:    {token}")
    print("Keep the token now: it is stored only as a hash and cannot be shown again.", file=sys.stderr)


def cmd_serve(config, args):
    return workers.run(config, args.sockets)


def cmd_delete_data(config, args):
    """Stops the embedded PostgreSQL and deletes its cluster, wherever it lives: a fresh start."""
    cluster = embedded_cluster(config)
    cluster.remove()
    print(f"deleted the embedded PostgreSQL's data in {cluster.directory}")
    return 0


def cmd_migrate(config, args):
    applied = migrate(config.database_url)
    print(f"applied: {', '.join(applied)}" if applied else "up to date")


def cmd_create_store(config, args):
    token = new_token()
    (store_id,) = query_one(config, "SELECT create_store(%s, %s)", (args.name, hash_token(token)))
    print(f"store_id: {store_id}")
    print_token(token)


def cmd_create_token(config, args):
    token = new_token()
    (created,) = query_one(config, "SELECT create_api_token(%s, %s)", (args.store, hash_token(token)))
    if not created:
        return unknown_store(args)
    print(f"store_id: {args.store}")
    print_token(token)


def cmd_create_webhook_secret(config, args):
    if not config.webhook_key:
        print("WEBHOOK_KEY is not set: it encrypts the webhook secrets (docs/webhooks.md)", file=sys.stderr)
        return 1
    secret = new_secret()
    (created,) = query_one(config, "SELECT webhook_secret_set(%s, %s, %s)", (args.store, secret, config.webhook_key))
    if not created:
        return unknown_store(args)
    print(f"store_id:     {args.store}")
    print(f"delivery URL: https://<this service>/api/webhooks/woocommerce/{args.store}")
    print(f"secret:       {secret}")
    print(
        "Paste the secret into each webhook's Secret field in WooCommerce now: it cannot be shown again. "
        "It replaces the store's previous webhook secret.",
        file=sys.stderr,
    )


def cmd_revoke_token(config, args):
    token = args.token if args.token != "-" else sys.stdin.readline().strip()
    (revoked,) = query_one(config, "SELECT revoke_api_token(%s)", (hash_token(token),))
    if not revoked:
        print("no live token matches", file=sys.stderr)
        return 1
    print("token revoked")


def cmd_psql(config, args):
    """psql on the service's database: the embedded server's own psql when there is one."""
    try:
        program = embedded.tool("psql")
    except embedded.EmbeddedError:
        program = shutil.which("psql")
        if program is None:
            print("psql is not installed (make migrate installs the embedded PostgreSQL's)", file=sys.stderr)
            return 1
    # The password goes through the environment: on the command line, `ps` would show it to anyone.
    connection = psycopg2.extensions.parse_dsn(config.database_url)
    password = connection.pop("password", None)
    env = os.environ if password is None else {**os.environ, "PGPASSWORD": password}
    command = [program, psycopg2.extensions.make_dsn(**connection), *args.psql_args]
    return subprocess.run(command, env=env).returncode or None


def cmd_db_url(config, args):
    """Prints the database URL; the embedded server's only while it runs (make run)."""
    url = config.database_url or embedded_cluster(config).url(DATABASE_NAME)
    if url is None:
        print(
            "the embedded PostgreSQL is not running: start it with `make run` "
            "(or use `python -m service psql`, which starts it for its session)",
            file=sys.stderr,
        )
        return 1
    print(url)


# Commands that need no database, or find it themselves.
WITHOUT_DATABASE = {cmd_db_url, cmd_delete_data}


def set_status(status):
    def command(config, args):
        (found,) = query_one(config, "SELECT set_store_status(%s, %s)", (args.store, status))
        if not found:
            return unknown_store(args)
        print(f"store {args.store} is {status}")

    return command


def cmd_list_stores(config, args):
    """One tab-separated line per store, under a header."""
    print("id\tname\tstatus\tlast_sync\tlive_tokens")
    for row_id, name, status, last_sync_at, live_tokens in query_all(config, "SELECT * FROM list_stores()"):
        last_sync = last_sync_at.isoformat() if last_sync_at else "never"
        print(f"{row_id}\t{name}\t{status}\t{last_sync}\t{live_tokens}")


def parser():
    root = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP server on $PORT").set_defaults(func=cmd_serve)
    commands.add_parser("migrate", help="create the database if missing and apply migrations").set_defaults(
        func=cmd_migrate
    )
    create = commands.add_parser("create-store", help="create a store and print its API token once")
    create.add_argument("--name", required=True)
    create.set_defaults(func=cmd_create_store)
    revoke = commands.add_parser("revoke-token", help="revoke an API token")
    revoke.add_argument("--token", required=True, help="the token, or - to read it from stdin")
    revoke.set_defaults(func=cmd_revoke_token)
    commands.add_parser("db-url", help="print the database URL (for psql and other tools)").set_defaults(
        func=cmd_db_url
    )
    commands.add_parser("psql", help="run psql on the service's database; other arguments go to psql").set_defaults(
        func=cmd_psql
    )
    for name, func, text in [
        ("create-token", cmd_create_token, "create another API token for a store and print it once"),
        ("suspend-store", set_status("suspended"), "refuse a store's requests (403) until it is resumed"),
        ("resume-store", set_status("active"), "accept a suspended store's requests again"),
        ("create-webhook-secret", cmd_create_webhook_secret, "set a store's WooCommerce webhook secret, print it once"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("--store", required=True, type=parse_store_id, metavar="STORE_ID")
        command.set_defaults(func=func)
    commands.add_parser(
        "delete-data", help="stop the embedded PostgreSQL and delete its data (DATA_DIR), to start over"
    ).set_defaults(func=cmd_delete_data)
    commands.add_parser("list-stores", help="list stores: id, name, status, last sync, live tokens").set_defaults(
        func=cmd_list_stores
    )
    return root


def exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)  # unwinds: an embedded server this process started is stopped


def main(argv=None):
    config = Config.from_env()
    logs.configure(config.log_format)
    root = parser()
    args, args.psql_args = root.parse_known_args(argv)
    if args.psql_args and args.func is not cmd_psql:
        root.error(f"unrecognized arguments: {' '.join(args.psql_args)}")
    try:
        if args.func is cmd_serve:  # the port first: a busy one is said before anything starts
            args.sockets = workers.listening_sockets(config.port, config.bind_address)
        if args.func in WITHOUT_DATABASE:
            return args.func(config, args)
        with database(config) as config:
            return args.func(config, args)
    except embedded.EmbeddedError as exc:
        print(f"embedded PostgreSQL: {exc}", file=sys.stderr)
        return 1
    except (workers.PortInUse, server.EntitiesDiffer, StatementLogging) as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    sys.exit(main())

"""The service's and the operator's command line: python -m service COMMAND (--help lists them)."""
import argparse
import asyncio
import logging
import sys
import uuid

import psycopg2

from . import server
from .auth import hash_token, new_token
from .config import Settings
from .migrate import migrate


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
    asyncio.run(server.run(config))


def cmd_migrate(config, args):
    applied = migrate(config.database_url)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))


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


def cmd_revoke_token(config, args):
    token = args.token if args.token != "-" else sys.stdin.readline().strip()
    (revoked,) = query_one(config, "SELECT revoke_api_token(%s)", (hash_token(token),))
    if not revoked:
        print("no live token matches", file=sys.stderr)
        return 1
    print("token revoked")


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
    commands.add_parser("migrate", help="create $DATABASE_URL if missing and apply migrations") \
        .set_defaults(func=cmd_migrate)
    create = commands.add_parser("create-store", help="create a store and print its API token once")
    create.add_argument("--name", required=True)
    create.set_defaults(func=cmd_create_store)
    revoke = commands.add_parser("revoke-token", help="revoke an API token")
    revoke.add_argument("--token", required=True, help="the token, or - to read it from stdin")
    revoke.set_defaults(func=cmd_revoke_token)
    for name, func, text in [
        ("create-token", cmd_create_token, "create another API token for a store and print it once"),
        ("suspend-store", set_status("suspended"), "refuse a store's requests (403) until it is resumed"),
        ("resume-store", set_status("active"), "accept a suspended store's requests again"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("--store", required=True, type=parse_store_id, metavar="STORE_ID")
        command.set_defaults(func=func)
    commands.add_parser("list-stores", help="list stores: id, name, status, last sync, live tokens") \
        .set_defaults(func=cmd_list_stores)
    return root


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return args.func(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())

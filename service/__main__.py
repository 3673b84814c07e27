"""Command line: python -m service {serve,migrate,create-store,revoke-token}."""
import argparse
import asyncio
import logging
import sys

import psycopg2

from . import server
from .auth import hash_token, new_token
from .config import Settings
from .migrate import migrate


def query_one(config, query, params):
    conn = psycopg2.connect(config.database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()
    finally:
        conn.close()


def cmd_serve(config, args):
    asyncio.run(server.run(config))


def cmd_migrate(config, args):
    applied = migrate(config.database_url)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))


def cmd_create_store(config, args):
    token = new_token()
    (store_id,) = query_one(config, "SELECT create_store(%s, %s)", (args.name, hash_token(token)))
    print(f"store_id: {store_id}")
    print(f"token:    {token}")
    print("Keep the token now: it is stored only as a hash and cannot be shown again.", file=sys.stderr)


def cmd_revoke_token(config, args):
    token = args.token if args.token != "-" else sys.stdin.readline().strip()
    (revoked,) = query_one(config, "SELECT revoke_api_token(%s)", (hash_token(token),))
    if not revoked:
        print("no live token matches", file=sys.stderr)
        return 1
    print("token revoked")


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
    return root


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return args.func(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())

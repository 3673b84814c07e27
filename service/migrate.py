"""Creates the database if it is missing and applies the yoyo migrations."""
from pathlib import Path

import psycopg2
from psycopg2 import sql
from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def database_name(url):
    return psycopg2.extensions.parse_dsn(url)["dbname"]


def admin_connection(url):
    """An autocommit connection to the server's maintenance database."""
    conn = psycopg2.connect(url, dbname="postgres")
    conn.autocommit = True
    return conn


def create_database(url):
    """Creates the database named in url unless it exists. True if created."""
    name = database_name(url)
    conn = admin_connection(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


def recreate_database(url):
    """Drops the database named in url (closing its connections) and creates it empty.

    For the test suite and the benchmark, which start from the migrations alone.
    """
    name = sql.Identifier(database_name(url))
    conn = admin_connection(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        conn.close()


def apply_migrations(url):
    """Applies the migrations not yet applied; returns their ids."""
    backend = get_backend(url)
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


def migrate(url):
    create_database(url)
    return apply_migrations(url)

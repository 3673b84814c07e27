"""Creates the database if it is missing and applies the yoyo migrations."""
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql
from yoyo import default_migration_table, read_migrations
from yoyo.backends.core.postgresql import PostgresqlBackend
from yoyo.connections import parse_uri

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Backend(PostgresqlBackend):
    """yoyo's PostgreSQL backend, without the statements it expects to fail.

    Stock yoyo creates its lock table on every start ("already exists"),
    probes for transactional DDL by dropping a table it rolled back, and
    takes its lock by inserting a row that a concurrent run violates: each
    an ERROR line in the server log. PostgreSQL has transactional DDL, and an
    advisory lock serialises concurrent runs without a table or an error.
    """

    LOCK_KEY = "wcsync migrations"

    def init_database(self):
        self.has_transactional_ddl = True

    @contextmanager
    def lock(self, timeout=None):
        if self._is_locked:  # yoyo takes it again inside apply_migrations
            yield
            return
        self.execute("SELECT pg_advisory_lock(hashtext(:key))", {"key": self.LOCK_KEY})
        self._is_locked = True
        try:
            yield
        finally:
            self._is_locked = False
            self.execute("SELECT pg_advisory_unlock(hashtext(:key))", {"key": self.LOCK_KEY})


def database_name(url):
    return psycopg2.extensions.parse_dsn(url)["dbname"]


def with_database(url, name):
    """url, naming the database name instead (a unix-socket URL's query is kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


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
    backend = Backend(parse_uri(url), default_migration_table)
    try:
        backend.init_database()
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return [migration.id for migration in pending]


def migrate(url):
    create_database(url)
    return apply_migrations(url)

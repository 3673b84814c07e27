"""Creates the database if it is missing, applies the yoyo migrations, then the sql/ files.

migrations/ holds the schema's versioned steps; sql/ the database logic
(functions, views), each file re-applied whenever it changes.
"""

import hashlib
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql
from yoyo import default_migration_table, read_migrations
from yoyo.backends.core.postgresql import PostgresqlBackend
from yoyo.connections import parse_uri

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
SQL_DIR = MIGRATIONS_DIR.parent / "sql"


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
    """Applies the migrations not yet applied, then the changed sql/ files; returns what it applied."""
    backend = Backend(parse_uri(url), default_migration_table)
    try:
        backend.init_database()
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
            files = apply_sql_files(url)
    finally:
        backend.connection.close()
    return [migration.id for migration in pending] + [f"sql/{name}" for name in files]


def apply_sql_files(url):
    """Applies each sql/ file that is new or changed since it was applied; returns their names.

    After every versioned migration, so a function always meets the schema
    of its own time. All in one transaction, with function bodies checked
    when first run rather than when created (as pg_dump's output does), so
    that the files need no order among themselves.
    """
    files = {path.name: path.read_text() for path in sorted(SQL_DIR.glob("*.sql"))}
    with closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute("SELECT name, sha256 FROM _sql_files")
        applied = dict(cur.fetchall())
        changed = [name for name, text in files.items() if applied.get(name) != sha256(text)]
        cur.execute("SET LOCAL check_function_bodies = off")
        for name in changed:
            cur.execute(files[name])
            cur.execute(
                "INSERT INTO _sql_files (name, sha256) VALUES (%s, %s) ON CONFLICT (name) "
                "DO UPDATE SET sha256 = excluded.sha256, applied_at = now()",
                (name, sha256(files[name])),
            )
    return changed


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def migrate(url):
    create_database(url)
    return apply_migrations(url)

"""Apply the sync functions from sql/.

sql/ is the single source of the database logic; migrations only decide
when a definition is applied. A later change to a function ships as a new
migration that re-applies the files it touches.
"""
from pathlib import Path

from yoyo import step

__depends__ = {"0001_schema"}

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
FILES = [
    "json_values.sql",
    "stores.sql",
    "sync_batch.sql",
    "upsert_categories.sql",
    "upsert_products.sql",
    "upsert_customers.sql",
]


def apply(conn):
    cursor = conn.cursor()
    for name in FILES:
        cursor.execute((SQL_DIR / name).read_text())


steps = [step(apply)]

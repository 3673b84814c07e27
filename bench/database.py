"""The benchmark's own database: recreated, migrated, reset between cases.

Only a database whose name contains "bench" is ever touched: it is dropped
and recreated at the start, and its tables are truncated between cases.
"""

import contextlib
from contextlib import closing, contextmanager

import psycopg2
from psycopg2 import sql

from service.db.migrate import apply_migrations, database_name, recreate_database
from service.http.auth import hash_token, new_token

# The columns a record becomes, per entity: what the COPY ceiling writes.
SCRATCH_COLUMNS = {
    "products": [
        "store_id",
        "wc_product_id",
        "name",
        "sku",
        "price",
        "regular_price",
        "sale_price",
        "wc_category_id",
        "wc_category_ids",
        "category_name",
        "stock_quantity",
        "stock_status",
        "status",
        "type",
        "created_at",
        "updated_at",
    ],
    "customers": [
        "store_id",
        "wc_customer_id",
        "email_hash",
        "display_name",
        "total_spent",
        "order_count",
        "first_order_date",
        "last_order_date",
        "created_at",
        "updated_at",
    ],
    "categories": ["store_id", "wc_category_id", "name", "slug", "wc_parent_id", "product_count"],
}


def scratch_table(entity_name):
    return f"bench_scratch_{entity_name}"


def check_name(url):
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"refusing to use database {name!r}: BENCH_DATABASE_URL must name a *bench* database")
    return name


def recreate(url):
    """Drops and recreates the bench database, migrates it, adds the scratch tables."""
    check_name(url)
    recreate_database(url)
    apply_migrations(url)
    add_scratch_tables(url)


def add_scratch_tables(url):
    with connect(url) as conn, conn.cursor() as cur:
        for entity_name, columns in SCRATCH_COLUMNS.items():
            # The target's column types, without its keys, constraints and indexes:
            # the cheapest place the same rows can go.
            cur.execute(
                sql.SQL("CREATE UNLOGGED TABLE {} AS SELECT {} FROM {} WITH NO DATA").format(
                    sql.Identifier(scratch_table(entity_name)),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(entity_name),
                )
            )


@contextmanager
def connect(url):
    """An autocommit connection, closed on exit."""
    with closing(psycopg2.connect(url)) as conn:
        conn.autocommit = True
        yield conn


# Other stores' rows, present before every case (see reset()).
BACKGROUND = [
    "INSERT INTO stores (name) SELECT 'background ' || n FROM generate_series(1, %(stores)s) AS n",
    """INSERT INTO categories (store_id, wc_category_id, name, slug, product_count)
       SELECT s.id, n, 'Category ' || n, 'category-' || n, 10
         FROM stores s, generate_series(1, %(categories)s) AS n""",
    """INSERT INTO products (store_id, wc_product_id, name, sku, price, regular_price, wc_category_id,
                            category_id, wc_category_ids, stock_quantity, stock_status, status, type,
                            created_at, updated_at)
       SELECT s.id, n, 'Product ' || n, 'SKU-' || n, 9.99 + n %% 100, 9.99 + n %% 100, c.wc_category_id,
              c.id, ARRAY[c.wc_category_id], n %% 50, 'instock', 'publish', 'simple',
              now() - interval '1 year', now()
         FROM stores s
         CROSS JOIN generate_series(1, %(products)s) AS n
         JOIN categories c ON c.store_id = s.id AND c.wc_category_id = 1 + n %% %(categories)s""",
    """INSERT INTO product_categories (store_id, product_id, wc_category_id, position)
       SELECT store_id, id, wc_category_id, 0 FROM products""",
    """INSERT INTO customers (store_id, wc_customer_id, email_hash, display_name, total_spent, order_count,
                             created_at, updated_at)
       SELECT s.id, n, encode(digest(s.id::text || n, 'sha256'), 'hex'), 'Customer ' || n, n %% 500, n %% 9,
              now() - interval '2 years', now()
         FROM stores s, generate_series(1, %(customers)s) AS n""",
    """INSERT INTO orders (store_id, wc_order_id, status, currency, total, wc_customer_id, customer_id,
                          email_hash, billing_country, created_at, updated_at)
       SELECT c.store_id, n, (ARRAY['completed', 'processing', 'cancelled'])[1 + n %% 3], 'EUR', 10 + n %% 300,
              c.wc_customer_id, c.id, c.email_hash, 'DE', now() - interval '1 year', now()
         FROM generate_series(1, %(orders)s) AS n
         JOIN customers c ON c.wc_customer_id = 1 + n %% %(customers)s""",
    """INSERT INTO order_items (store_id, order_id, position, wc_product_id, product_id, quantity, total, price)
       SELECT o.store_id, o.id, k, p.wc_product_id, p.id, 1 + k, 9.99 * (1 + k), 9.99
         FROM orders o
         CROSS JOIN generate_series(0, 2) AS k
         JOIN products p ON p.store_id = o.store_id AND p.wc_product_id = 1 + (o.wc_order_id + k) %% %(products)s""",
]


def reset(url, background):
    """Empties every table, adds the background stores, analyses, checkpoints.

    So each case starts alike, in a database that already holds other stores
    and has statistics: as production does. (On empty, never-analysed tables
    the planner may cache poor plans for the foreign-key checks, which then
    cost O(rows in the store) per row; see the report.)
    background: {stores, categories, products, customers, orders}, per store (3 items an order).
    """
    tables = ["stores"] + [scratch_table(name) for name in SCRATCH_COLUMNS]
    with connect(url) as conn, conn.cursor() as cur:
        # Every tenant table references stores: CASCADE empties them all, a new one included.
        cur.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
        if background["stores"]:
            for statement in BACKGROUND:
                cur.execute(statement, background)
        cur.execute("ANALYZE")
        with contextlib.suppress(psycopg2.Error):  # superuser or pg_checkpoint only; optional
            cur.execute("CHECKPOINT")


def create_stores(url, count, label):
    """count fresh stores: [(store_id, token)]."""
    stores = []
    with connect(url) as conn, conn.cursor() as cur:
        for n in range(count):
            token = new_token()
            cur.execute("SELECT create_store(%s, %s)", (f"{label} {n}", hash_token(token)))
            stores.append((str(cur.fetchone()[0]), token))
    return stores


def load_categories(url, store_ids, trees_json):
    """Sends each store its category tree through the SQL function (untimed setup)."""
    with connect(url) as conn, conn.cursor() as cur:
        for store_id, tree_json in zip(store_ids, trees_json):
            cur.execute("SELECT status FROM upsert_categories(%s, %s::jsonb)", (store_id, tree_json))
            (status,) = cur.fetchone()
            if status != "completed":
                raise RuntimeError(f"category setup failed for store {store_id}")


def load(url, entity_name, store_ids, records_json):
    """Sends each store the same records through the SQL function (untimed setup)."""
    with connect(url) as conn, conn.cursor() as cur:
        for store_id in store_ids:
            cur.execute(
                sql.SQL("SELECT status FROM {}(%s, %s::jsonb)").format(sql.Identifier(f"upsert_{entity_name}")),
                (store_id, records_json),
            )
            (status,) = cur.fetchone()
            if status != "completed":
                raise RuntimeError(f"{entity_name} setup failed for store {store_id}")


def count_rows(url, table, store_ids):
    """Rows of table that belong to store_ids."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE store_id = ANY (%s::uuid[])").format(sql.Identifier(table)),
            (list(store_ids),),
        )
        return cur.fetchone()[0]


def server_facts(url):
    """PostgreSQL's version and the settings that shape these figures."""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        (version,) = cur.fetchone()
        cur.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
            (["shared_buffers", "fsync", "synchronous_commit", "wal_level", "autovacuum", "jit"],),
        )
        settings = ", ".join(f"{name}={setting}" for name, setting in cur.fetchall())
    return version, settings

"""Tenant isolation in the schema itself.

Every table is either a tenant table (rows belong to one store: store_id in
its primary key, in every unique key and in every foreign key to another
tenant table) or one of the few reference tables listed here. A new table
must be put in one class or the other, or this test fails. The same rules
keep the schema ready to be distributed by store_id (docs/scaling.md).
"""

import pytest

# Looked up before any store is known (a token) or the store itself, and the entities every store shares.
REFERENCE_TABLES = {"stores", "api_tokens", "entities"}


@pytest.fixture
def tables(query):
    rows = query("""
        SELECT table_name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name NOT LIKE '\\_%%' AND table_name NOT LIKE 'yoyo%%'  -- bookkeeping: yoyo's, _sql_files
    """)
    return {row["table_name"] for row in rows}


@pytest.fixture
def constraints(query):
    """{(table, constraint name): (type, [columns], referenced table or None)}"""
    rows = query("""
        SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype,
               c.confrelid::regclass::text AS referenced,
               array_agg(a.attname::text ORDER BY a.attnum) AS columns
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')
         GROUP BY 1, 2, 3, 4
    """)
    return {(r["table_name"], r["conname"]): (r["contype"], r["columns"], r["referenced"]) for r in rows}


def tenant_tables(tables):
    return sorted(tables - REFERENCE_TABLES)


def test_the_expected_tables_exist(tables):
    assert {
        "stores",
        "api_tokens",
        "categories",
        "products",
        "product_categories",
        "customers",
        "orders",
        "order_items",
        "sync_logs",
    } <= tables


def test_every_tenant_table_has_a_non_null_store_id(tables, query):
    for table in tenant_tables(tables):
        rows = query(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s AND column_name = 'store_id'",
            (table,),
        )
        assert rows == [{"is_nullable": "NO"}], f"{table} lacks a NOT NULL store_id"


def test_store_id_is_in_every_primary_and_unique_key(tables, constraints):
    tenant = set(tenant_tables(tables))
    keys = [
        (table, name, columns)
        for (table, name), (kind, columns, _) in constraints.items()
        if table in tenant and kind in "pu"
    ]
    assert {table for table, _, _ in keys} == tenant  # each has at least one key
    for table, name, columns in keys:
        assert "store_id" in columns, f"{table}.{name} {columns} lacks store_id"


def test_store_id_is_in_every_unique_index(tables, query):
    """Unique indexes made without a constraint (CREATE UNIQUE INDEX) are keys too."""
    rows = query("""
        SELECT t.relname AS table_name, i.relname AS index_name,
               array_agg(a.attname::text ORDER BY a.attnum) AS columns
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)
         WHERE x.indisunique AND t.relnamespace = 'public'::regnamespace
         GROUP BY 1, 2
    """)
    tenant = set(tenant_tables(tables))
    checked = [row for row in rows if row["table_name"] in tenant]
    assert {row["table_name"] for row in checked} == tenant
    for row in checked:
        assert "store_id" in row["columns"], f"{row['table_name']}.{row['index_name']} {row['columns']} lacks store_id"


def test_foreign_keys_between_tenant_tables_include_store_id(tables, constraints):
    tenant = set(tenant_tables(tables))
    for (table, name), (kind, columns, referenced) in constraints.items():
        if kind == "f" and table in tenant and referenced in tenant:
            assert "store_id" in columns, f"{table}.{name} {columns} can point across stores"

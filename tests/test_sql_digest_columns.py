"""The columns that hold a hex SHA-256 (tokens, emails, webhook bodies): one check for all.

Their check is evaluated here as the database holds it, on values around its
edges, against the pattern it replaced (migrations/0006_digest_checks.sql).
"""

import hashlib
import re

import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DIGEST_COLUMNS = {
    ("api_tokens", "token_hash"),
    ("customers", "email_hash"),
    ("orders", "email_hash"),
    ("webhook_deliveries", "body_sha256"),
}
# What the check stood for before it was made cheaper.
FORMER_PATTERN = re.compile(r"[0-9a-f]{64}")

EDGES = [
    hashlib.sha256(b"x").hexdigest(),
    "0" * 64,
    "f" * 64,
    "",
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "a" * 63 + "\n",
    "\n" + "a" * 63,
    "a" * 64 + "\n",
    " " + "a" * 63,
    "a" * 32 + "-" + "a" * 31,
    "\uff41" * 64,  # fullwidth a
    "\u0663" * 64,  # Arabic-Indic three
    "é" * 64,
    "a" * 62 + "é",
]


@pytest.fixture(scope="module")
def digest_checks(database_url):
    """{(table, column): the CHECK's expression} of every check that reads a hex digest."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            """SELECT c.conrelid::regclass::text, a.attname, pg_get_expr(c.conbin, c.conrelid)
                 FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
                WHERE c.contype = 'c' AND pg_get_expr(c.conbin, c.conrelid) LIKE '%%0-9a-f%%'"""
        )
        return {(table, column): expression for table, column, expression in cur.fetchall()}


def verdicts(query, expression, column, values):
    """The check's verdict on each value: a CHECK passes on true or NULL."""
    rows = query(
        f"SELECT coalesce({expression}, true) AS ok FROM unnest(%s::text[]) WITH ORDINALITY AS v ({column}, n)"
        " ORDER BY n",
        (values,),
    )
    return [row["ok"] for row in rows]


def test_every_digest_column_has_the_same_check(digest_checks):
    assert set(digest_checks) == DIGEST_COLUMNS
    spelled = {expression.replace(column, "<column>") for (_, column), expression in digest_checks.items()}
    assert len(spelled) == 1, spelled


@pytest.mark.parametrize("table, column", sorted(DIGEST_COLUMNS))
def test_the_check_takes_exactly_64_lowercase_hex_digits(table, column, digest_checks, query):
    expected = [FORMER_PATTERN.fullmatch(value) is not None for value in EDGES]
    assert verdicts(query, digest_checks[(table, column)], column, EDGES) == expected
    assert expected.count(True) == 3


@given(st.lists(st.text(alphabet="0123456789abcdefAFg \n\u0663é", min_size=62, max_size=66), max_size=30))
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_check_agrees_with_the_former_pattern(digest_checks, query, values):
    expression = digest_checks[("customers", "email_hash")]
    expected = [FORMER_PATTERN.fullmatch(value) is not None for value in values]
    assert verdicts(query, expression, "email_hash", values) == expected

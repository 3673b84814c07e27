"""upsert_customers (sql/upsert_customers.sql), called directly as from psql.

What is particular to customers: the email is personal data, stored only
as sha256(lower(trim(email))) in hex and nowhere in plain text, not even in
a skipped record's reason; a customer may have no email. The batch
contract shared with the other entities is in test_sql_sync_logs.py.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sql_helpers import columns_holding, failing_trigger, rows, sha256_hex, sync_log


def customer_rows(query, store_id):
    return {row["wc_customer_id"]: row for row in rows(query, "customers", store_id)}


def email_hashes(query, store_id):
    return {wc_id: row["email_hash"] for wc_id, row in customer_rows(query, store_id).items()}


def test_every_field_is_stored_as_sent(store, sync_sql, query):
    result = sync_sql(
        "customers",
        store.id,
        [
            {
                "wc_customer_id": 42,
                "email": "john@example.com",
                "display_name": "John",
                "total_spent": "499.95",
                "order_count": 3,
                "first_order_date": "2025-03-01",
                "last_order_date": "2026-01-10T12:00:00-02:00",
                "created_at": "2025-01-01T00:00:00Z",
                "updated_at": "2026-01-15T10:30:00",
            },
            {
                "id": 43,
                "total_spent": 0,
                "order_count": 0,
                "date_created_gmt": "2025-02-02T02:02:02",
                "date_modified_gmt": "2026-02-02T02:02:02",
            },
        ],
    )

    assert (result["status"], result["synced_count"], result["errors"]) == ("completed", 2, [])
    john, other = customer_rows(query, store.id)[42], customer_rows(query, store.id)[43]
    assert (john["display_name"], john["total_spent"], john["order_count"]) == ("John", Decimal("499.95"), 3)
    assert (john["first_order_date"], john["last_order_date"], john["created_at"], john["updated_at"]) == (
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2026, 1, 10, 14, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
    )
    assert (other["email_hash"], other["display_name"], other["total_spent"], other["order_count"]) == (
        None,
        None,
        Decimal(0),
        0,
    )
    assert (other["created_at"], other["updated_at"]) == (
        datetime(2025, 2, 2, 2, 2, 2, tzinfo=UTC),
        datetime(2026, 2, 2, 2, 2, 2, tzinfo=UTC),
    )


# --- The email, hashed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["john@example.com", "  John.Doe@Example.COM  ", "ANN+tag@Sub.Example.org", "a@b"], ids=repr
)
def test_email_is_stored_as_the_sha256_of_its_trimmed_lowercase_form(email, store, sync_sql, query):
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": email}])
    assert email_hashes(query, store.id) == {1: sha256_hex(email.strip().lower())}


def test_one_address_written_differently_gets_one_hash(store, sync_sql, query):
    sync_sql(
        "customers",
        store.id,
        [{"wc_customer_id": 1, "email": "Ann@Example.com"}, {"wc_customer_id": 2, "email": " ann@example.COM "}],
    )
    hashes = email_hashes(query, store.id)
    assert hashes[1] == hashes[2] == sha256_hex("ann@example.com")


@pytest.mark.parametrize(
    "record", [{}, {"email": None}, {"email": ""}, {"email": "   "}], ids=["no email", "null", "empty", "spaces"]
)
def test_a_customer_without_an_email_gets_no_hash(record, store, sync_sql, query):
    result = sync_sql("customers", store.id, [{"wc_customer_id": 1, **record}])
    assert (result["synced_count"], result["errors"]) == (1, [])
    assert email_hashes(query, store.id) == {1: None}


def test_resync_replaces_or_clears_the_hash(store, sync_sql, query):
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": "old@example.com"}])
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": "new@example.com"}])
    assert email_hashes(query, store.id) == {1: sha256_hex("new@example.com")}
    sync_sql("customers", store.id, [{"wc_customer_id": 1}])
    assert email_hashes(query, store.id) == {1: None}


def test_no_plain_email_is_stored_anywhere(store, sync_sql, query):
    """Valid, skipped and failed batches: no column of any table holds an email the customers had."""
    emails = ["Plain.Stored@Example.com", "skipped-customer@example.com", "failed-batch@example.com"]
    sync_sql(
        "customers",
        store.id,
        [
            {"wc_customer_id": 1, "email": f"  {emails[0]} "},
            {"email": emails[1]},  # no id: skipped
            {"wc_customer_id": 3, "email": emails[1], "order_count": -1},
        ],
    )  # skipped
    with failing_trigger(query, "customers", store.id):
        assert sync_sql("customers", store.id, [{"wc_customer_id": 4, "email": emails[2]}])["status"] == "failed"
    assert email_hashes(query, store.id) == {1: sha256_hex(emails[0].lower())}

    assert columns_holding(query, emails) == []


# --- Other fields -----------------------------------------------------------------------------------


def test_a_stale_record_leaves_the_customer_and_counts_as_unchanged(store, sync_sql, query):
    sync_sql(
        "customers",
        store.id,
        [{"wc_customer_id": 1, "email": "new@example.com", "order_count": 5, "updated_at": "2026-01-15T10:00:00Z"}],
    )
    stored = customer_rows(query, store.id)

    result = sync_sql(
        "customers",
        store.id,
        [
            {
                "wc_customer_id": 1,
                "email": "old@example.com",
                "order_count": 4,
                "updated_at": "2026-01-15T10:00:00+00:01",
            }
        ],
    )  # 09:59 UTC

    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    assert sync_log(query, store.id, result["sync_log_id"])["records_unchanged"] == 1
    assert customer_rows(query, store.id) == stored

    # A record without updated_at is written but keeps the stored one, so the old retry still loses.
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "order_count": 6}])
    result = sync_sql(
        "customers", store.id, [{"wc_customer_id": 1, "order_count": 4, "updated_at": "2026-01-15T09:00:00Z"}]
    )
    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    [row] = customer_rows(query, store.id).values()
    assert row["order_count"] == 6

"""upsert_customers (sql/upsert_customers.sql), called directly as from psql.

What is particular to customers: the email is personal data, stored only
as sha256(lower(trim(email))) in hex and nowhere in plain text, not even in
a skipped record's reason; a customer may have no email. The batch
contract shared with the other entities is in test_sql_sync_logs.py.
"""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from service.entities import ENTITIES
from service.validation import validate_batch
from sql_helpers import columns_holding, failing_trigger, rows, sha256_hex, sync_log

UTC = timezone.utc


def customer_rows(query, store_id):
    return {row["wc_customer_id"]: row for row in rows(query, "customers", store_id)}


def email_hashes(query, store_id):
    return {wc_id: row["email_hash"] for wc_id, row in customer_rows(query, store_id).items()}


def test_every_field_is_stored_as_sent(store, sync_sql, query):
    result = sync_sql("customers", store.id, [
        {"wc_customer_id": 42, "email": "john@example.com", "display_name": "John", "total_spent": "499.95",
         "order_count": 3, "first_order_date": "2025-03-01", "last_order_date": "2026-01-10T12:00:00-02:00",
         "created_at": "2025-01-01T00:00:00Z", "updated_at": "2026-01-15T10:30:00"},
        {"id": 43, "total_spent": 0, "order_count": 0, "date_created_gmt": "2025-02-02T02:02:02",
         "date_modified_gmt": "2026-02-02T02:02:02"}])

    assert (result["status"], result["synced_count"], result["errors"]) == ("completed", 2, [])
    john, other = customer_rows(query, store.id)[42], customer_rows(query, store.id)[43]
    assert (john["display_name"], john["total_spent"], john["order_count"]) == ("John", Decimal("499.95"), 3)
    assert (john["first_order_date"], john["last_order_date"], john["created_at"], john["updated_at"]) == (
        datetime(2025, 3, 1, tzinfo=UTC), datetime(2026, 1, 10, 14, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
    assert (other["email_hash"], other["display_name"], other["total_spent"], other["order_count"]) \
        == (None, None, Decimal(0), 0)
    assert (other["created_at"], other["updated_at"]) == (datetime(2025, 2, 2, 2, 2, 2, tzinfo=UTC),
                                                          datetime(2026, 2, 2, 2, 2, 2, tzinfo=UTC))


# --- The email, hashed ------------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["john@example.com", "  John.Doe@Example.COM  ", "ANN+tag@Sub.Example.org",
                                   "a@b"], ids=repr)
def test_email_is_stored_as_the_sha256_of_its_trimmed_lowercase_form(email, store, sync_sql, query):
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": email}])
    assert email_hashes(query, store.id) == {1: sha256_hex(email.strip().lower())}


def test_one_address_written_differently_gets_one_hash(store, sync_sql, query):
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": "Ann@Example.com"},
                                     {"wc_customer_id": 2, "email": " ann@example.COM "}])
    hashes = email_hashes(query, store.id)
    assert hashes[1] == hashes[2] == sha256_hex("ann@example.com")


@pytest.mark.parametrize("record", [{}, {"email": None}, {"email": ""}, {"email": "   "}],
                         ids=["no email", "null", "empty", "spaces"])
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


@pytest.mark.parametrize("email, reason", [
    ("not-an-email", "email: must be an email address"),
    ("john@doe@example.com", "email: must be an email address"),
    ("john doe@example.com", "email: must be an email address"),
    ("@example.com", "email: must be an email address"),
    ("john@", "email: must be an email address"),
    ("j" * 243 + "@example.com", "email: must be an email address"),  # 255 characters
    (12345, "email: must be a string"),
    (["john@example.com"], "email: must be a string"),
], ids=lambda value: repr(value)[:24])
def test_an_invalid_email_skips_the_customer_without_quoting_it(email, reason, store, sync_sql, query):
    result = sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": email},
                                              {"wc_customer_id": 2, "email": "ok@example.com"}])

    assert result["errors"] == [{"index": 0, "id": 1, "reason": reason}]
    assert "example" not in result["errors"][0]["reason"]
    assert email_hashes(query, store.id) == {2: sha256_hex("ok@example.com")}


def test_an_email_of_254_characters_is_accepted(store, sync_sql, query):
    email = "j" * 242 + "@example.com"
    assert len(email) == 254
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": email}])
    assert email_hashes(query, store.id) == {1: sha256_hex(email)}


@pytest.mark.parametrize("email", ["john@example.com\n", "\tjohn@example.com", " \t "], ids=repr)
def test_an_email_wrapped_in_other_whitespace_is_judged_alike_by_both_layers(email, store, sync_sql, query):
    """trim() is SQL's: spaces only. An address wrapped in a tab or newline is skipped, by the HTTP layer too
    (it used to strip all whitespace and pass on records the SQL function then skipped)."""
    record = {"wc_customer_id": 1, "email": email}
    result = sync_sql("customers", store.id, [record])
    assert result["errors"] == [{"index": 0, "id": 1, "reason": "email: must be an email address"}]
    assert email_hashes(query, store.id) == {}
    assert validate_batch(ENTITIES["customers"], [record]).errors == result["errors"]


def test_no_plain_email_is_stored_anywhere(store, sync_sql, query):
    """Valid, skipped and failed batches: no column of any table holds an email the customers had."""
    emails = ["Plain.Stored@Example.com", "skipped-customer@example.com", "failed-batch@example.com"]
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": f"  {emails[0]} "},
                                     {"email": emails[1]},  # no id: skipped
                                     {"wc_customer_id": 3, "email": emails[1], "order_count": -1}])  # skipped
    with failing_trigger(query, "customers", store.id):
        assert sync_sql("customers", store.id, [{"wc_customer_id": 4, "email": emails[2]}])["status"] == "failed"
    assert email_hashes(query, store.id) == {1: sha256_hex(emails[0].lower())}

    assert columns_holding(query, emails) == []


# --- Other fields -----------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, reason", [
    ("order_count", -1, "order_count: must be between 0 and 2147483647"),
    ("order_count", 1.5, "order_count: must be an integer"),
    ("total_spent", "-0.01", "total_spent: must be a non-negative number or numeric string up to 1000000000000000"),
    ("last_order_date", "2026-13-01", "last_order_date: must be an ISO 8601 date or date-time"),
    ("display_name", "d" * 1001, "display_name: longer than 1000 characters"),
    ("wc_customer_id", "42", "wc_customer_id: must be a positive integer"),
], ids=lambda value: repr(value)[:24])
def test_other_invalid_fields_skip_the_customer(field, value, reason, store, sync_sql, query):
    record = {"wc_customer_id": 1, field: value}
    result = sync_sql("customers", store.id, [record])
    assert result["errors"] == [{"index": 0, "id": record["wc_customer_id"], "reason": reason}]
    assert customer_rows(query, store.id) == {}


def test_a_stale_record_leaves_the_customer_and_counts_as_unchanged(store, sync_sql, query):
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": "new@example.com", "order_count": 5,
                                      "updated_at": "2026-01-15T10:00:00Z"}])
    stored = customer_rows(query, store.id)

    result = sync_sql("customers", store.id, [{"wc_customer_id": 1, "email": "old@example.com", "order_count": 4,
                                               "updated_at": "2026-01-15T10:00:00+00:01"}])  # 09:59 UTC

    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    assert sync_log(query, store.id, result["sync_log_id"])["records_unchanged"] == 1
    assert customer_rows(query, store.id) == stored

    # A record without updated_at is written but keeps the stored one, so the old retry still loses.
    sync_sql("customers", store.id, [{"wc_customer_id": 1, "order_count": 6}])
    result = sync_sql("customers", store.id, [{"wc_customer_id": 1, "order_count": 4,
                                               "updated_at": "2026-01-15T09:00:00Z"}])
    assert (result["synced_count"], result["unchanged_count"]) == (0, 1)
    [row] = customer_rows(query, store.id).values()
    assert row["order_count"] == 6

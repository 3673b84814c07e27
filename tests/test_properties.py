"""Property-based tests (Hypothesis) of the validation layer and the SQL functions.

For any batch: every record is either stored exactly or skipped with a
reason, the counts add up to the batch size, and the two validation layers
accept the same records (what either accepts, the other accepts).
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import sql

from service.batch.entities import ENTITIES
from service.batch.validation import parse_json, validate_batch

# Text PostgreSQL's jsonb can hold: no NUL, no lone surrogates.
pg_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | pg_text
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(pg_text, inner, max_size=3), max_leaves=6
)

# Valid values of each kind; records are built valid, then some are broken.
valid_names = pg_text.filter(str.strip)
valid_money = st.decimals(0, 10**6, places=2).map(str) | st.floats(0, 10**6) | st.just("")
valid_timestamps = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.none() | st.just(UTC)
).map(datetime.isoformat)
valid_counts = st.integers(0, 10**6)
valid_categories = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(1, 2**63 - 1)}, optional={"name": pg_text | st.none(), "slug": json_scalars}
    ),
    max_size=3,
)
valid_emails = st.from_regex(r"[a-z0-9.]{1,10}@[a-z]{1,8}\.[a-z]{2,4}", fullmatch=True) | st.just("")
valid_line_items = st.lists(
    st.fixed_dictionaries(
        {"product_id": st.integers(0, 2**63 - 1), "quantity": valid_counts},
        optional={
            "id": st.integers(1, 2**63 - 1),
            "variation_id": st.integers(0, 10**6),
            "total": valid_money,
            "price": valid_money,
            "sku": pg_text | st.none(),
            "name": pg_text,
            "meta_data": json_values,
        },
    ),
    max_size=3,
)

FIELDS = {
    "products": {
        "name": valid_names,
        "sku": pg_text,
        "price": valid_money,
        "sale_price": valid_money,
        "stock_quantity": st.integers(-100, 10**6),
        "updated_at": valid_timestamps,
        "categories": valid_categories,
    },
    "customers": {
        "display_name": pg_text,
        "total_spent": valid_money,
        "order_count": valid_counts,
        "created_at": valid_timestamps,
        "email": valid_emails,
    },
    "categories": {
        "name": valid_names,
        "slug": pg_text,
        "product_count": valid_counts,
        "parent_id": st.integers(0, 10**6),
    },
    "orders": {
        "status": valid_names,
        "currency": pg_text,
        "total": valid_money,
        "discount_total": valid_money,
        "customer_id": st.integers(0, 10**6),
        "billing": st.fixed_dictionaries({}, optional={"email": valid_emails, "country": pg_text, "phone": pg_text}),
        "date_paid_gmt": valid_timestamps,
        "line_items": valid_line_items,
    },
}
REQUIRED = {"products": ["name"], "customers": [], "categories": ["name"], "orders": ["status"]}
MONEY_FIELDS = {"price", "sale_price", "total_spent", "total", "discount_total"}


@st.composite
def record_of(draw, entity_name):
    """A valid record, or (one time in four) one with a field broken or missing."""
    entity = ENTITIES[entity_name]
    fields = FIELDS[entity_name]
    required = [entity.id_field] + REQUIRED[entity_name]
    record = draw(
        st.fixed_dictionaries(
            {entity.id_field: st.integers(1, 2**63 - 1), **{name: fields[name] for name in REQUIRED[entity_name]}},
            optional={name: strategy for name, strategy in fields.items() if name not in required},
        )
    )
    if draw(st.integers(0, 3)) == 0:
        broken = draw(st.sampled_from(sorted(record)))
        if draw(st.booleans()):
            del record[broken]
        else:
            record[broken] = draw(json_values)
    return record


def records_of(entity_name):
    """Batches with a distinct id per record, and now and then a non-object."""
    entity = ENTITIES[entity_name]
    record_or_scalar = st.integers(0, 9).flatmap(lambda n: json_scalars if n == 0 else record_of(entity_name))
    return st.lists(record_or_scalar, max_size=12).map(lambda records: distinct_ids(records, entity.id_field))


def distinct_ids(records, id_field):
    """Duplicate ids would make "stored exactly" ambiguous (the last one wins): drop them."""
    seen, kept = set(), []
    for record in records:
        key = json.dumps(record.get(id_field), sort_keys=True) if isinstance(record, dict) else None
        if key is None or key not in seen:
            seen.add(key)
            kept.append(record)
    return kept


@pytest.mark.parametrize("entity_name", ENTITIES)
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_validation_accounts_for_every_record(entity_name, data):
    records = data.draw(
        st.lists(
            st.dictionaries(
                st.sampled_from(list(ENTITIES[entity_name].schema) + ["id", "parent", "noise"]), json_values, max_size=6
            )
            | json_values,
            max_size=10,
        )
    )
    batch = validate_batch(ENTITIES[entity_name], records)
    skipped = [error["index"] for error in batch.errors]
    assert sorted(batch.indexes + skipped) == list(range(len(records)))
    assert len(json.loads(batch.records_json)) == len(batch.indexes)
    assert all(error["reason"] for error in batch.errors)


def stored_value(value):
    """A JSON value as the database gives it back, for comparison."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def stored_id(sent):
    """The id a valid sent id is stored as: SQL also takes an integral number written
    as a float (6.8e+16), exactly as its JSON text says."""
    return int(Decimal(repr(sent))) if isinstance(sent, float) else sent


def expected_value(field, sent):
    """What a valid sent value is stored as."""
    if field in MONEY_FIELDS:
        return None if sent == "" else Decimal(str(sent))
    if field in ("updated_at", "created_at"):
        parsed = datetime.fromisoformat(sent)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    if field in ("email", "billing"):
        return None  # the email is checked as a hash elsewhere; never stored
    if field == "parent_id":
        return None  # resolved separately: wc_parent_id holds it
    if field in ("categories", "line_items"):
        return None  # kept in product_categories, order_items: checked by the SQL tests
    if field == "customer_id":
        return None  # stored as wc_customer_id, 0 as NULL: checked by the SQL tests
    if field == "date_paid_gmt":
        return None  # stored as paid_at: checked by the SQL tests
    return sent


@pytest.mark.parametrize("entity_name", ENTITIES)
@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sql_function_stores_exactly_or_skips(entity_name, data, make_store, sync_sql, query):
    entity = ENTITIES[entity_name]
    records = data.draw(records_of(entity_name))
    store = make_store()
    result = sync_sql(entity_name, store.id, records)

    assert result["status"] == "completed", result["error_message"]
    assert result["synced_count"] + result["unchanged_count"] + result["skipped_count"] == len(records)
    assert result["unchanged_count"] == 0  # a fresh store has nothing newer
    skipped = {error["index"] for error in result["errors"]}
    assert len(skipped) == result["skipped_count"]

    rows = {
        row[entity.id_field]: row
        for row in query(
            sql.SQL("SELECT * FROM {} WHERE store_id = %s").format(sql.Identifier(entity_name)), (store.id,)
        )
    }
    stored = [i for i in range(len(records)) if i not in skipped]
    assert len(rows) == len(stored)
    for index in stored:
        record = records[index]
        row = rows[stored_id(record[entity.id_field])]
        for field in FIELDS[entity_name]:
            if field in record and record[field] is not None and expected_value(field, record[field]) is not None:
                assert stored_value(row[field]) == expected_value(field, record[field]), (field, record)


@pytest.mark.parametrize("entity_name", ENTITIES)
@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_both_layers_accept_the_same_records(entity_name, data, make_store, sync_sql):
    """Both directions: what the HTTP layer accepts the SQL function accepts, and the reverse.
    The HTTP layer sees the batch as the handler parses it (numbers with a fraction as Decimals)."""
    records = data.draw(records_of(entity_name))
    http = validate_batch(ENTITIES[entity_name], parse_json(json.dumps(records)))
    database = sync_sql(entity_name, make_store().id, records)
    assert {e["index"] for e in http.errors} == {e["index"] for e in database["errors"]}, (
        http.errors,
        database["errors"],
    )

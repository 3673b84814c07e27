"""Every order case (tests/order_cases.py) through both validation layers.

The HTTP layer (validate_batch) and upsert_orders, called as from psql with
the record as sent, must each store the record or skip it for the expected
field, with the same reason; and what the HTTP layer passes on (projected,
serialised) must be stored by the SQL function as it is.
"""

import json

import pytest

from service.batch.entities import ORDERS
from service.batch.validation import validate_batch

from order_cases import ORDER_CASES
from sql_helpers import call_raw


def case_id(case):
    return f"{case.reason or 'stored'}-{json.dumps(case.record)[:60]}"


@pytest.mark.parametrize("case", ORDER_CASES, ids=[case_id(case) for case in ORDER_CASES])
def test_both_layers_give_the_expected_outcome(case, make_store, sync_sql, query):
    batch = validate_batch(ORDERS, [case.record])
    result = sync_sql("orders", make_store().id, [case.record])
    if case.reason is None:
        assert batch.errors == [] and batch.indexes == [0]
        assert (result["synced_count"], result["errors"]) == (1, [])
        # what the service sends for it is stored too
        sent = call_raw(query, "orders", make_store().id, batch.records_json.decode())
        assert (sent["synced_count"], sent["errors"]) == (1, [])
    else:
        [http_error] = batch.errors
        [sql_error] = result["errors"]
        assert http_error["reason"].startswith(case.reason), http_error
        assert sql_error["reason"] == http_error["reason"]
        assert result["synced_count"] == 0

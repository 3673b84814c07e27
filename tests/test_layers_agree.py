"""The two validation layers agree, case by case (tests/layer_cases.py).

The HTTP layer is the handler's own: the body parsed as the handler parses
it, then validate_batch(). The SQL layer is upsert_<entity>() called as psql
calls it, with the same records. Each layer must store what the case says
it stores, and skip the rest with a reason that starts as the case says.
"""

import json
from contextlib import closing

import psycopg2
import pytest
from psycopg2 import sql

from service.batch.entities import ENTITIES
from service.batch.validation import parse_json, validate_batch
from service.http.auth import hash_token, new_token

from layer_cases import CASES


def as_json(record):
    return record if isinstance(record, str) else json.dumps(record)


def verdicts(errors, count):
    """Per record: None (stored) or its reason."""
    reasons = {error["index"]: error["reason"] for error in errors}
    return [reasons.get(index) for index in range(count)]


@pytest.fixture(scope="module")
def sql_verdicts(database_url):
    """{entity: [verdict per case]}, from one upsert_<entity>() call with every case, in a store of its own."""
    with closing(psycopg2.connect(database_url)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT create_store('layer cases', %s)", (hash_token(new_token()),))
            (store_id,) = cur.fetchone()
            results = {}
            for name, cases in CASES.items():
                records = "[" + ",".join(as_json(case.record) for case in cases) + "]"
                cur.execute(
                    sql.SQL("SELECT errors FROM {}(%s, %s::jsonb)").format(sql.Identifier(f"upsert_{name}")),
                    (store_id, records),
                )
                results[name] = verdicts(cur.fetchone()[0], len(cases))
            return results


@pytest.fixture(scope="module")
def http_verdicts():
    results = {}
    for name, cases in CASES.items():
        batch = validate_batch(ENTITIES[name], [parse_json(as_json(case.record)) for case in cases])
        results[name] = verdicts(batch.errors, len(cases))
    return results


def agrees(verdict, case):
    return verdict is None if case.reason is None else verdict is not None and verdict.startswith(case.reason)


@pytest.mark.parametrize(
    "name, index, case",
    [
        pytest.param(name, index, case, id=f"{name}-{index}-{case}")
        for name, cases in CASES.items()
        for index, case in enumerate(cases)
    ],
)
def test_both_layers_judge_the_case_as_expected(name, index, case, http_verdicts, sql_verdicts):
    http, database = http_verdicts[name][index], sql_verdicts[name][index]
    assert agrees(http, case) and agrees(database, case), f"HTTP: {http!r}; SQL: {database!r}"
    for reason in filter(None, (http, database)):  # a reason names a field, never what was in it
        assert not any(value in reason for value in quotable(parse_json(as_json(case.record)))), reason


def quotable(value):
    """The text values of a record that a reason could be caught quoting (long enough not to occur by chance)."""
    if isinstance(value, dict):
        return [text for member in value.values() for text in quotable(member)]
    if isinstance(value, list):
        return [text for item in value for text in quotable(item)]
    return [value] if isinstance(value, str) and len(value.strip()) >= 6 and not value.isdigit() else []


def test_every_entity_has_cases_of_both_outcomes():
    assert set(CASES) == set(ENTITIES)
    for name, cases in CASES.items():
        assert any(case.reason is None for case in cases) and any(case.reason for case in cases), name

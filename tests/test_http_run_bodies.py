"""The run routes' bodies over real HTTP and PostgreSQL: judged by their schemas in service/http/openapi.json
(service/http/run_bodies.py), a refusal a 400 naming the field, never a 500; complete and abort answer 404
for a run that does not exist before they judge the body. The SQL functions judge the same bodies
as psql sends them: the layers agree, case by case, but for the one difference said below.
"""

import gzip
import json
import time

import psycopg2
import pytest

from service.batch.entities import ENTITIES
from service.http.run_bodies import WHAT_IS_WRONG

from http_helpers import assert_error
from openapi_check import DOCUMENT

NO_RUN = "00000000-0000-4000-8000-000000000001"
MAX_BIGINT = 2**63 - 1
ENTITY_NAMES = "products, customers, categories, orders"


@pytest.fixture
def run_of(post):
    """await run_of(store, entities=("products",)) -> the id of a run started over HTTP."""

    async def start(store, entities=("products",)):
        response = await post("/api/sync/runs", {"entities": list(entities)}, store.token)
        assert response.code == 201, response.body
        return json.loads(response.body)["data"]["runId"]

    return start


def runs_of(query, store):
    return query("SELECT status, expected, batches FROM sync_runs WHERE store_id = %s", (store.id,))


def answer(response, status):
    assert response.code == status, response.body
    return json.loads(response.body)["data"]


# --- Start ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, code, message",
    [
        # NUL in a key, a value or an entity name (issue 24): PostgreSQL could take none of them
        (
            {"entities": ["products"], "expected": {"products\u0000": 1}},
            "bad_request",
            "expected: every key must be one of",
        ),
        (
            {"entities": ["products"], "expected": {"products": "\u0000"}},
            "bad_request",
            "expected.products: must be an integer",
        ),
        ({"entities": ["products\u0000"]}, "bad_request", f"entities[0]: must be one of {ENTITY_NAMES}"),
        (b"", "bad_request", "entities: is required"),
        (b"[null, null]", "bad_request", "body: must be an object"),
        (b"{", "invalid_json", "The request body is not valid JSON."),
        (b'{"entities": ["products"], "expected": {"products": NaN}}', "invalid_json", "not valid JSON"),
        ({"entities": "products"}, "bad_request", "entities: must be an array"),
        ({"entities": []}, "bad_request", "entities: must have at least 1 item"),
        ({"entities": ["products", "products"]}, "bad_request", "entities: must not hold an item twice"),
        ({"entities": ["refunds"]}, "bad_request", "entities[0]: must be one of"),
        ({"entities": ["products"], "expected": []}, "bad_request", "expected: must be an object or null"),
        (
            {"entities": ["products"], "expected": {"products": 1.5}},
            "bad_request",
            "expected.products: must be an integer",
        ),
        (
            {"entities": ["products"], "expected": {"products": -1}},
            "bad_request",
            "expected.products: must be at least 0",
        ),
        (
            {"entities": ["products"], "expected": {"products": MAX_BIGINT + 1}},
            "bad_request",
            f"expected.products: must be at most {MAX_BIGINT}",
        ),
        # a float's exponent beyond any Decimal's (it was a 500) is no integer
        (
            b'{"entities": ["products"], "expected": {"products": 1e99999999999999999999}}',
            "bad_request",
            "expected.products: must be an integer",
        ),
        (
            {"entities": ["products"], "expected": {"orders": 1}},
            "bad_request",
            "expected.orders: not an entity of the run",
        ),
    ],
)
@pytest.mark.gen_test
async def test_start_refuses_a_body_its_schema_refuses_naming_the_field(body, code, message, post, store, query):
    refusal = assert_error(await post("/api/sync/runs", body, store.token), 400, code)
    assert message in refusal and "\u0000" not in refusal
    assert runs_of(query, store) == []


@pytest.mark.gen_test
async def test_a_refusal_names_no_key_of_the_clients(post, store):
    body = {"entities": ["products"], "expected": {"secret\u0000key": "x", "products": 1}}
    refusal = assert_error(await post("/api/sync/runs", body, store.token), 400, "bad_request")
    assert refusal == f"expected: every key must be one of {ENTITY_NAMES}"


@pytest.mark.gen_test
async def test_a_long_list_of_entities_is_refused_at_once(post, store):
    """Every item distinct and unhashable: uniqueItems would compare each pair (some 50 s for these
    5,000); the schema puts maxItems first, and the first error ends the judging."""
    items = ",".join(f'{{"a":{n}}}' for n in range(5000))
    started = time.monotonic()
    response = await post("/api/sync/runs", f'{{"entities": [{items}]}}', store.token)
    assert "entities: must have at most 4 items" in assert_error(response, 400, "bad_request")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "expected, stored",
    [(None, {}), ({"products": 5.0}, {"products": 5}), ({"products": MAX_BIGINT}, {"products": MAX_BIGINT})],
)
@pytest.mark.gen_test
async def test_start_takes_null_expected_whole_numbers_written_with_a_fraction_and_the_largest_count(
    expected, stored, post, store, query
):
    body = {"entities": ["products"], "expected": expected, "ignored": "\u0000"}
    run = answer(await post("/api/sync/runs", body, store.token), 201)
    assert run["entities"]["products"]["expected"] == stored.get("products")
    assert runs_of(query, store) == [{"status": "running", "expected": stored, "batches": None}]


@pytest.mark.gen_test
async def test_a_gzipped_body_that_is_broken_is_a_400(post, store):
    headers = {"Content-Encoding": "gzip"}
    response = await post("/api/sync/runs", gzip.compress(b'{"entities": ["products"]}')[:-4], store.token, headers)
    assert "gzip" in assert_error(response, 400, "bad_request")


# --- Complete and abort ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, code, message",
    [
        ({"batches": {"\u0000": 1}}, "bad_request", "batches: every key must be one of"),
        ({"batches": {"products": "\u0000"}}, "bad_request", "batches.products: must be an integer"),
        (b"", "bad_request", "batches: is required"),
        ({"batches": None}, "bad_request", "batches: must be an object"),
        ({"batches": {}}, "bad_request", "batches: must have at least 1 member"),
        ({"batches": {"products": 1000001}}, "bad_request", "batches.products: must be at most 1000000"),
        ({"batches": {"products": 0.5}}, "bad_request", "batches.products: must be an integer"),
        (b"garbage{", "invalid_json", "The request body is not valid JSON."),
        # schema-valid, but not the run's entities: the SQL function's refusal
        ({"batches": {"customers": 0}}, "bad_request", "batches: the number of batches sent"),
    ],
)
@pytest.mark.gen_test
async def test_complete_refuses_a_bad_body_naming_the_field(body, code, message, post, store, run_of, query):
    run_id = await run_of(store)
    refusal = assert_error(await post(f"/api/sync/runs/{run_id}/complete", body, store.token), 400, code)
    assert message in refusal and "\u0000" not in refusal
    assert [run["status"] for run in runs_of(query, store)] == ["running"]


@pytest.mark.gen_test
async def test_complete_takes_a_whole_number_written_with_a_fraction(post, store, run_of, query):
    run_id = await run_of(store)
    run = answer(await post(f"/api/sync/runs/{run_id}/complete", b'{"batches": {"products": 0.0}}', store.token), 200)
    assert (run["status"], run["batches"]) == ("completed", {"products": 0})
    assert runs_of(query, store)[0]["batches"] == {"products": 0}


@pytest.mark.parametrize(
    "body, code", [(b"[null, null]", "bad_request"), (b"null", "bad_request"), (b"garbage{", "invalid_json")]
)
@pytest.mark.gen_test
async def test_abort_refuses_a_body_that_is_not_an_object(body, code, post, store, run_of, query):
    run_id = await run_of(store)
    assert_error(await post(f"/api/sync/runs/{run_id}/abort", body, store.token), 400, code)
    assert [run["status"] for run in runs_of(query, store)] == ["running"]


@pytest.mark.parametrize("body", [b"", {}, {"reason": "\u0000 any member, never read"}])
@pytest.mark.gen_test
async def test_abort_takes_no_body_or_any_object(body, post, store, run_of):
    run_id = await run_of(store)
    headers = {"Content-Type": ""} if body == b"" else None
    assert answer(await post(f"/api/sync/runs/{run_id}/abort", body, store.token, headers), 200)["status"] == "aborted"


@pytest.mark.parametrize("end", ["complete", "abort"])
@pytest.mark.parametrize("body", [{"batches": {"\u0000": 1}}, b"garbage{", b"[null, null]", b""])
@pytest.mark.gen_test
async def test_a_run_that_does_not_exist_is_a_404_whatever_the_body(end, body, post, make_store, run_of):
    store, other = make_store(), make_store()
    theirs = await run_of(other)
    for run_id in (NO_RUN, theirs, "not-a-run"):
        response = await post(f"/api/sync/runs/{run_id}/{end}", body, store.token)
        assert_error(response, 404, "not_found")


# --- The document and the layers ----------------------------------------------------------------


def test_the_document_names_the_services_entities():
    assert set(DOCUMENT["components"]["schemas"]["Entity"]["enum"]) == set(ENTITIES)


def test_start_and_complete_need_a_body_abort_does_not():
    required = {
        route: item["post"]["requestBody"]["required"]
        for route, item in DOCUMENT["paths"].items()
        if "runs" in route and "post" in item
    }
    assert required == {
        "/api/sync/runs": True,
        "/api/sync/runs/{runId}/complete": True,
        "/api/sync/runs/{runId}/abort": False,
    }


# Keywords that only apply others or annotate: no error of theirs is reported (an `if` never fails).
NOT_REPORTED = {"$ref", "$comment", "description", "properties", "items", "additionalProperties", "propertyNames"}
NOT_REPORTED |= {"allOf", "then", "if"}


def reported_keywords(schema):
    if isinstance(schema, dict):
        for keyword, value in schema.items():
            if keyword == "if":
                continue
            if keyword not in NOT_REPORTED:
                yield keyword
            if keyword == "properties":
                for member in value.values():
                    yield from reported_keywords(member)
            elif isinstance(value, (dict, list)) and keyword not in ("enum", "required", "type"):
                yield from reported_keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from reported_keywords(item)


@pytest.mark.parametrize("route", ["/api/sync/runs", "/api/sync/runs/{runId}/complete", "/api/sync/runs/{runId}/abort"])
def test_every_keyword_of_a_run_body_schema_has_its_words(route):
    schema = DOCUMENT["paths"][route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(reported_keywords(schema)) <= set(WHAT_IS_WRONG)


def sql_start(query, store, entities, expected_json):
    query("SELECT sync_run_start(%s, %s, %s::jsonb)", (store.id, entities, expected_json))


@pytest.mark.parametrize(
    "entities, expected, accepted",
    [
        (["products"], None, True),
        (["products"], "null", True),
        (["products", "orders"], '{"products": 0, "orders": 9223372036854775807}', True),
        ([], None, False),
        (["refunds"], None, False),
        (["products", "products"], None, False),
        (["products"], "[]", False),
        (["products"], '{"orders": 1}', False),
        (["products"], '{"products": -1}', False),
        (["products"], '{"products": 1.5}', False),
        (["products"], '{"products": "1"}', False),
        (["products"], '{"products": 9223372036854775808}', False),
    ],
)
@pytest.mark.gen_test
async def test_start_the_layers_agree(entities, expected, accepted, post, make_store, query):
    over_http, over_sql = make_store(), make_store()
    body = f'{{"entities": {json.dumps(entities)}' + (f', "expected": {expected}}}' if expected else "}")
    response = await post("/api/sync/runs", body, over_http.token)
    assert response.code == (201 if accepted else 400), response.body
    sql_expected = None if expected == "null" else expected  # no counts: null in JSON, NULL from psql
    if accepted:
        sql_start(query, over_sql, entities, sql_expected)
    else:
        with pytest.raises(psycopg2.Error) as refused:
            sql_start(query, over_sql, entities, sql_expected)
        assert refused.value.pgcode == "WR000"


@pytest.mark.gen_test
async def test_a_whole_number_written_with_a_fraction_the_layers_read_differently(post, make_store, query):
    """JSON Schema's integer, which the HTTP layer reads, admits 5.0 and sends PostgreSQL 5. The SQL
    functions take jsonb, where 5.0 keeps its scale, and count as an integer only what has none
    (json_bigint, the rule every SQL function reads ids and counts by): from psql, 5.0 is refused."""
    over_http, over_sql = make_store(), make_store()
    body = '{"entities": ["products"], "expected": {"products": 5.0}}'
    assert answer(await post("/api/sync/runs", body, over_http.token), 201)["entities"]["products"]["expected"] == 5
    with pytest.raises(psycopg2.Error) as refused:
        sql_start(query, over_sql, ["products"], '{"products": 5.0}')
    assert refused.value.pgcode == "WR000"


@pytest.mark.parametrize(
    "batches, accepted",
    [
        ('{"products": 0}', True),
        ("null", False),
        ("[]", False),
        ("{}", False),
        ('{"customers": 0}', False),
        ('{"products": 0, "customers": 0}', False),
        ('{"products": -1}', False),
        ('{"products": 1.5}', False),
        ('{"products": "0"}', False),
        ('{"products": 1000001}', False),
    ],
)
@pytest.mark.gen_test
async def test_complete_the_layers_agree(batches, accepted, post, make_store, run_of, query):
    over_http, over_sql = make_store(), make_store()
    run_id = await run_of(over_http)
    response = await post(f"/api/sync/runs/{run_id}/complete", f'{{"batches": {batches}}}', over_http.token)
    assert response.code == (200 if accepted else 400), response.body
    [sql_run] = query("SELECT sync_run_start(%s, %s) AS id", (over_sql.id, ["products"]))
    complete = ("SELECT * FROM sync_run_complete(%s, %s, %s::jsonb)", (over_sql.id, sql_run["id"], batches))
    if accepted:
        query(*complete)
    else:
        with pytest.raises(psycopg2.Error) as refused:
            query(*complete)
        assert refused.value.pgcode == "WR000"

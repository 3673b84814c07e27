"""GET /openapi.json: a valid OpenAPI 3.1 document of every route (service/http/openapi.py), its entities'
parts made from ENTITIES.

That every answer of the HTTP tests conforms to it is checked by conftest's http_client and
raw_http.exchange (tests/openapi_check.py); here, that the check itself bites.
"""

import json
import re

import pytest
from openapi_spec_validator import validate

from service.batch.entities import ENTITIES

from openapi_check import DOCUMENT, check


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)


@pytest.mark.gen_test
async def test_it_is_served_as_built(http_client, base_url):
    response = await http_client.fetch(base_url + "/openapi.json")
    assert json.loads(response.body) == DOCUMENT
    assert response.headers["Content-Type"] == "application/json"


def test_every_route_of_the_application_is_documented_and_nothing_else(app):
    examples = {re.sub(r"\{[^}]+\}", "x", template): template for template in DOCUMENT["paths"]}
    routed = {}
    for rule in app.wildcard_router.rules:
        [example] = [path for path in examples if rule.matcher.regex.fullmatch(path)]
        routed[examples[example]] = rule.target
    assert set(routed) == set(DOCUMENT["paths"])


@pytest.mark.gen_test
async def test_each_route_label_is_its_documented_path(http_client, base_url, app):
    for template, item in DOCUMENT["paths"].items():
        [method] = [name for name in item if name != "parameters"]
        path = template.replace("{runId}", "00000000-0000-0000-0000-000000000000")
        await http_client.fetch(
            base_url + path, method=method.upper(), body="" if method == "post" else None, raise_error=False
        )
    routes = {
        sample.labels["route"]
        for family in app.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "wcsync_http_requests_total"
    }
    assert routes == set(DOCUMENT["paths"])


ERROR = {"success": False, "error": {"code": "not_found", "message": "No such endpoint."}}
JSON = {"Content-Type": "application/json", "X-Request-Id": "r"}


@pytest.mark.parametrize(
    "method, path, status, headers, body, words",
    [
        ("GET", "/health", 418, JSON, ERROR, "418 is not in"),
        ("GET", "/api/sync/status", 200, JSON, {"success": True, "data": {}}, "is a required property"),
        ("GET", "/nowhere", 404, {"Content-Type": "application/json"}, ERROR, "no X-Request-Id"),
        ("GET", "/nowhere", 404, {**JSON, "Content-Type": "text/html"}, ERROR, "text/html"),
        ("GET", "/nowhere", 404, JSON, {**ERROR, "extra": 1}, "Additional properties"),
        ("POST", "/api/sync/products", 401, {**JSON, "WWW-Authenticate": "Bearer"}, ERROR, "'not_found' is not one of"),
        (
            "PUT",
            "/health",
            405,
            JSON,
            {"success": False, "error": {"code": "method_not_allowed", "message": "m"}},
            "Allow",
        ),
    ],
)
def test_an_answer_the_document_does_not_give_fails_the_check(method, path, status, headers, body, words):
    with pytest.raises(AssertionError, match=re.escape(words)):
        check(method, path, status, headers, json.dumps(body).encode())


def test_each_entity_has_its_sync_route_and_is_an_entity_a_run_may_cover():
    sync_routes = [path for path in DOCUMENT["paths"] if path.removeprefix("/api/sync/") in ENTITIES]
    assert sync_routes == [f"/api/sync/{name}" for name in ENTITIES]
    assert DOCUMENT["components"]["schemas"]["Entity"]["enum"] == list(ENTITIES)
    for name, entity in ENTITIES.items():
        post = DOCUMENT["paths"][f"/api/sync/{name}"]["post"]
        items = post["requestBody"]["content"]["application/json"]["schema"]["properties"][name]["items"]
        assert all(f"`{field}`" in items["description"] for field in entity.schema)

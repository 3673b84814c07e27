"""Every answer the HTTP tests get, checked against the service's OpenAPI document (service/http/openapi.py;
conftest's http_client, raw_http.exchange): the status must be one the document gives for the route and method, the
required headers there, and the body valid against the document's schema.

Beyond the paths, as the document's description says: another path answers 404, a method the
path does not list 405 (or what its routes answer first, e.g. 401), and a request that is not
HTTP 400.
"""

import json
import re

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from service.http.openapi import DOCUMENT

URI = "urn:wcsync:openapi"
REGISTRY = Registry().with_resource(URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
ROUTES = [(re.compile(re.sub(r"\{[^}]+\}", "[^/]+", template) + r"\Z"), template) for template in DOCUMENT["paths"]]
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def escape(key):
    return key.replace("~", "~0").replace("/", "~1")


def at(pointer):
    """(the object at a JSON pointer of the document, its pointer), $refs followed."""
    value = DOCUMENT
    for key in pointer.lstrip("/").split("/"):
        value = value[key.replace("~1", "/").replace("~0", "~")]
    if "$ref" in value:
        return at(value["$ref"].removeprefix("#"))
    return value, pointer


def route_of(path):
    """The document's path template that path matches, or None."""
    return next((template for regex, template in ROUTES if regex.match(path)), None)


def documented_response(method, path):
    """{status: pointer of the response object} the document allows for method and path."""
    template = route_of(path.partition("?")[0]) if method else None
    if template is None:
        allowed = {"400": "/components/responses/BadRequest"}
        if method:
            allowed["404"] = "/components/responses/NotFound"
        return allowed
    item = f"/paths/{escape(template)}"
    operations = [name for name in METHODS if name in DOCUMENT["paths"][template]]
    if method.lower() in operations:
        operations = [method.lower()]
    allowed = {
        status: f"{item}/{name}/responses/{status}"
        for name in reversed(operations)
        for status in DOCUMENT["paths"][template][name]["responses"]
    }
    if method.lower() not in DOCUMENT["paths"][template]:
        allowed["405"] = "/components/responses/MethodNotAllowed"
    return allowed


def check(method, path, status, headers, body):
    """Asserts that the answer (headers: a case-insensitive mapping, body: bytes) is documented."""
    allowed = documented_response(method, path)
    assert str(status) in allowed, f"{method} {path}: {status} is not in service/http/openapi.json ({sorted(allowed)})"
    response, pointer = at(allowed[str(status)])
    for name, header in response.get("headers", {}).items():
        header, _ = at(f"{pointer}/headers/{escape(name)}")
        assert not header.get("required") or name in headers, f"{method} {path} {status}: no {name} header"
    [(media, content)] = response["content"].items()
    content_type = headers.get("Content-Type", "")
    assert content_type.partition(";")[0].strip() == media.partition(";")[0], f"{method} {path}: {content_type}"
    if media == "application/json":
        schema = {"$ref": f"{URI}#{pointer}/content/{escape(media)}/schema"}
        validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(json.loads(body)), key=str)
        assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"

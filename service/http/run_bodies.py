"""The run routes' request bodies (service/http/runs.py): parsed, then judged by the route's own
requestBody schema in service/http/openapi.json, so that the document and the service cannot disagree.

The schemas let nothing through that PostgreSQL could not take: entity names come from an enum,
counts are bounded integers (a whole number written 5.0 too, as JSON Schema's integer admits it;
passed on as 5). Members the schemas do not name are ignored, never passed on.
"""

import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ..batch.validation import reject_constant
from . import openapi
from .base import ApiError

DOCUMENT_URI = "urn:wcsync:openapi"
REGISTRY = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(openapi.DOCUMENT, default_specification=DRAFT202012)
)
TYPE_NAMES = {"object": "an object", "array": "an array", "integer": "an integer", "null": "null"}


def listed(values):
    return ", ".join(map(str, values))


def plural(count, noun):
    return noun if count == 1 else noun + "s"


def must_be_of_type(types):
    return "must be " + " or ".join(TYPE_NAMES[name] for name in ([types] if isinstance(types, str) else types))


# What is wrong, by the keyword that failed: worded from the schema, never from the client's data.
WHAT_IS_WRONG = {
    "type": must_be_of_type,
    "enum": lambda names: f"must be one of {listed(names)}",
    "minimum": lambda bound: f"must be at least {bound}",
    "maximum": lambda bound: f"must be at most {bound}",
    "minItems": lambda count: f"must have at least {count} {plural(count, 'item')}",
    "maxItems": lambda count: f"must have at most {count} {plural(count, 'item')}",
    "uniqueItems": lambda _: "must not hold an item twice",
    "minProperties": lambda count: f"must have at least {count} {plural(count, 'member')}",
    "required": lambda _: "is required",
    # The schemas' one `not`: `expected` naming an entity that `entities` does not hold.
    "not": lambda _: "not an entity of the run (entities)",
}


class RunBodySchema:
    """The JSON body of POST `route`, judged by its requestBody schema in the document."""

    def __init__(self, route):
        pointer = "/".join(["", "paths", route.replace("~", "~0").replace("/", "~1"), "post", "requestBody"])
        self.validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#{pointer}/content/application~1json/schema"}, registry=REGISTRY
        )

    def read(self, data):
        """The body (bytes) as a dict; an empty body is {}. 400 invalid_json, or 400 bad_request
        naming the first field the schema refuses."""
        try:
            text = data.decode("utf-8")
            # Plain floats: a count written 5.0 is a float that JSON Schema's integer admits.
            body = json.loads(text, parse_constant=reject_constant) if text.strip() else {}
        except (ValueError, RecursionError):  # UnicodeDecodeError included
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
        # The first error in the schema's keyword order: the schemas check what is cheap and the keys
        # first (maxItems before uniqueItems, propertyNames before additionalProperties), so it costs
        # little and names no key of the client's.
        error = next(self.validator.iter_errors(body), None)
        if error is not None:
            raise ApiError(400, "bad_request", problem(error))
        return body


def problem(error):
    """'<field>: <what is wrong>' of a jsonschema error, e.g. 'expected.products: must be at most 9'."""
    path = list(error.absolute_path)
    if error.validator == "required":
        path.append(next(name for name in error.validator_value if name not in error.instance))
    field = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".") or "body"
    if "propertyNames" in error.relative_schema_path:
        return f"{field}: every key must be one of {listed(error.validator_value)}"
    return f"{field}: {WHAT_IS_WRONG[error.validator](error.validator_value)}"


def counts_json(counts):
    """{entity: count} as JSON text for the SQL functions, every count an int (5.0 is sent as 5,
    which they take for an integer); None stays NULL."""
    return None if counts is None else json.dumps({name: int(count) for name, count in counts.items()})

"""The API's OpenAPI 3.1 document, served at GET /openapi.json: service/http/openapi.json, with what
each entity has (its sync route, its name among the entities a run may cover) made from ENTITIES,
so that adding an entity adds them."""

import json
from pathlib import Path

from ..batch.entities import ENTITIES
from ..config import Config


def accepted_fields(entity):
    """The entity's fields in words, each with the WooCommerce name read when it is absent."""
    return ", ".join(
        f"`{name}`" + (f" (or `{alias}`)" if alias else "")
        for name, alias in ((name, entity.aliases.get(name)) for name in entity.schema)
    )


def sync_route(entity):
    """POST /api/sync/<entity>'s path item."""

    def response(name):
        return {"$ref": f"#/components/responses/{name}"}

    return {
        "post": {
            "operationId": f"sync_{entity.name}",
            "tags": ["sync"],
            "summary": f"Store a batch of {entity.name}",
            "description": "Each record is validated on its own; an invalid one is skipped and reported, the rest "
            "stored in one transaction (docs/api.md).",
            "security": [{"bearerToken": []}],
            "parameters": [
                {"$ref": f"#/components/parameters/{name}"}
                for name in ("X-Sync-Run", "X-Sync-Batch", "Content-Encoding")
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [entity.name],
                            "properties": {
                                entity.name: {
                                    "type": "array",
                                    "maxItems": Config.max_batch_records,
                                    # No constraint on a record: an invalid one is skipped with its
                                    # reason (200), never the batch refused.
                                    "items": {
                                        "description": f"One of the {entity.name}: {accepted_fields(entity)}; "
                                        "unknown fields are ignored."
                                    },
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": response("Synced"),
                "400": response("BadRequest"),
                "401": response("Unauthorized"),
                "403": response("Forbidden"),
                "409": response("BatchNotInRun"),
                "413": response("PayloadTooLarge"),
                "415": response("UnsupportedMediaType"),
                "429": response("TooManyRequests"),
                "500": response("BatchFailed"),
                "503": response("ServiceUnavailable"),
            },
        }
    }


def document():
    """service/http/openapi.json with the entities' parts."""
    base = json.loads((Path(__file__).parent / "openapi.json").read_text())
    base["paths"] = {**{f"/api/sync/{name}": sync_route(entity) for name, entity in ENTITIES.items()}, **base["paths"]}
    base["components"]["schemas"]["Entity"] = {
        "enum": list(ENTITIES),
        "description": "An entity a full sync run may cover.",
    }
    return base


DOCUMENT = document()
DOCUMENT_BYTES = json.dumps(DOCUMENT, indent=2).encode()

"""The service's own state: health, metrics and the OpenAPI document (no token, no body)."""

import hmac

from prometheus_client import generate_latest

from .. import db
from . import openapi
from .auth import bearer_token
from .base import ReadHandler, unauthorized


class HealthHandler(ReadHandler):
    route = "/health"

    async def get(self):
        await self.database(db.ping(self.pool))
        self.write({"success": True, "data": {"status": "ok", "database": "ok"}})


class MetricsHandler(ReadHandler):
    """Prometheus' text format; with METRICS_TOKEN set, only for 'Authorization: Bearer <it>'."""

    route = "/metrics"

    def prepare(self):
        super().prepare()
        expected = self.config.metrics_token
        if expected:
            token = bearer_token(self.request.headers.get("Authorization")) or ""
            if not hmac.compare_digest(token.encode(), expected.encode()):
                raise unauthorized("GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.")

    def get(self):
        # The classic text format every Prometheus reads; the names need none of 1.0.0's escaping.
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.write(generate_latest(self.application.metrics.registry))


class OpenApiHandler(ReadHandler):
    """The API's contract (openapi.py)."""

    route = "/openapi.json"

    def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(openapi.DOCUMENT_BYTES)

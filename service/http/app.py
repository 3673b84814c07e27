"""The Tornado application: the routes, and the state the handlers share."""

import tornado.web

from ..batch.entities import ENTITIES
from .base import NotFoundHandler
from .batches import BatchHandler
from .logs import keep_secrets_out_of_tornado_logs, log_request
from .metrics import Metrics
from .ops import HealthHandler, MetricsHandler, OpenApiHandler
from .runs import ROUTES as RUN_ROUTES
from .webhooks import ROUTES as WEBHOOK_ROUTES
from .webhooks import UnverifiedBodies


class NoServerHeader(tornado.web.OutputTransform):
    """Drops the Server header Tornado puts on every answer: it names Tornado's version, which
    tells a scanner which of its known flaws to try."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers.pop("Server", None)
        return status_code, headers, chunk


class Application(tornado.web.Application):
    """The service. Handlers reach what they share through self.application:
    the configuration, the database pool, the sync requests in flight
    (not yet answered), which a graceful shutdown waits for, the webhook bodies not yet verified,
    and the metrics."""

    def __init__(self, config, pool):
        self.config = config
        self.pool = pool
        self.in_flight = set()
        self.metrics = Metrics(pool, self.in_flight)
        self.unverified_webhook_bodies = UnverifiedBodies(config.webhook_body_budget_bytes, self.metrics)
        routes = [(rf"/api/sync/{name}", BatchHandler, {"entity": entity}) for name, entity in ENTITIES.items()]
        routes += [
            *RUN_ROUTES,
            *WEBHOOK_ROUTES,
            (r"/health", HealthHandler),
            (r"/metrics", MetricsHandler),
            (r"/openapi.json", OpenApiHandler),
        ]
        keep_secrets_out_of_tornado_logs()
        super().__init__(
            routes, transforms=[NoServerHeader], default_handler_class=NotFoundHandler, log_function=log_request
        )

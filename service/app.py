"""The Tornado application: the routes, and the state the handlers share."""

import tornado.web

from .entities import ENTITIES
from .handlers import HealthHandler, NotFoundHandler, SyncHandler
from .logs import keep_secrets_out_of_tornado_logs, log_request
from .runs import ROUTES as RUN_ROUTES
from .webhooks import ROUTES as WEBHOOK_ROUTES


class Application(tornado.web.Application):
    """The service. Handlers reach what they share through self.application:
    the configuration, the database pool, and the sync requests in flight
    (not yet answered), which a graceful shutdown waits for."""

    def __init__(self, config, pool):
        self.config = config
        self.pool = pool
        self.in_flight = set()
        routes = [(rf"/api/sync/{name}", SyncHandler, {"entity": entity}) for name, entity in ENTITIES.items()]
        routes += [*RUN_ROUTES, *WEBHOOK_ROUTES, (r"/health", HealthHandler)]
        keep_secrets_out_of_tornado_logs()
        super().__init__(routes, default_handler_class=NotFoundHandler, log_function=log_request)

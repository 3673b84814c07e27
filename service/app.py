"""The Tornado application: routes and shared state."""
import tornado.web

from .entities import ENTITIES
from .handlers import HealthHandler, NotFoundHandler, SyncHandler
from .logs import keep_secrets_out_of_tornado_logs, log_request


def make_app(config, pool):
    routes = [
        (rf"/api/sync/{name}", SyncHandler, {"entity": entity}) for name, entity in ENTITIES.items()
    ]
    routes.append((r"/health", HealthHandler))
    keep_secrets_out_of_tornado_logs()
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        log_function=log_request,
        config=config,
        pool=pool,
        in_flight=set(),  # sync requests not yet answered; shutdown waits for them
    )

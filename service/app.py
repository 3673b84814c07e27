"""The Tornado application: routes and shared state."""
import tornado.web

from .entities import ENTITIES
from .handlers import HealthHandler, NotFoundHandler, SyncHandler


def make_app(config, pool):
    routes = [
        (rf"/api/sync/{name}", SyncHandler, {"entity": entity}) for name, entity in ENTITIES.items()
    ]
    routes.append((r"/health", HealthHandler))
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        config=config,
        pool=pool,
        in_flight=set(),  # sync requests not yet answered; shutdown waits for them
    )

"""Runs the HTTP server until SIGTERM or SIGINT, then shuts down gracefully."""
import asyncio
import logging
import signal

import tornado.httpserver

from . import db
from .app import make_app

log = logging.getLogger("wcsync.server")


async def serve(config, stopping, ready=None):
    """Serves until the stopping event is set; in-flight batches may finish.

    ready, if given, is set once the server listens (for tests and tools).
    """
    pool = await db.create_pool(config)
    app = make_app(config, pool)
    # The sync handler enforces max_body_bytes itself, with a 413; this is
    # only Tornado's hard ceiling.
    server = tornado.httpserver.HTTPServer(app, max_body_size=4 * config.max_body_bytes)
    server.listen(config.port)
    log.info("listening on port %d", config.port)
    if ready is not None:
        ready.set()

    await stopping.wait()
    log.info("shutting down: %d request(s) in flight", len(app.settings["in_flight"]))
    server.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.shutdown_timeout_s
    while app.settings["in_flight"] and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await server.close_all_connections()
    pool.close()
    await pool.wait_closed()
    log.info("stopped")


async def run(config):
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await serve(config, stopping)

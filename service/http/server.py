"""Runs the HTTP server until SIGTERM or SIGINT, then shuts down gracefully."""

import asyncio
import gc
import json
import logging
import signal

import tornado.httpserver

from .. import db
from ..batch.entities import ENTITIES
from .app import Application
from .logs import log_loop_exception, request_id_of

log = logging.getLogger("wcsync.server")


async def serve(config, stopping, ready=None, sockets=None):
    """Serves until the stopping event is set; in-flight batches may finish.

    ready, if given, is set once the server listens (for tests and tools);
    sockets, if given, are listening already (service/http/workers.py), else it binds config.port.
    """
    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(log_loop_exception)
    pool = await checked_pool(config)
    app = Application(config, pool)
    server = make_server(app, config)
    if sockets:
        server.add_sockets(sockets)
    else:
        server.listen(config.port, config.bind_address)
    log.info("listening on port %d", config.port)
    if not config.webhook_key:
        log.warning("WEBHOOK_KEY is not set: webhook deliveries are answered 503 webhooks_not_configured")
    if ready is not None:
        ready.set()

    await stopping.wait()
    log.info("shutting down: %d request(s) in flight", len(app.in_flight))
    server.stop()
    deadline = loop.time() + config.shutdown_timeout_s
    while app.in_flight and loop.time() < deadline:
        await asyncio.sleep(0.05)
    await server.close_all_connections()
    pool.close()
    await pool.wait_closed()
    loop.set_exception_handler(previous_handler)
    log.info("stopped")


class EntitiesDiffer(RuntimeError):
    """The database's entities are not the service's: the command line says so in one line."""


async def checked_pool(config):
    """The pool, once the database is one the service can serve: its sessions keep statements out
    of the server log (db.StatementLogging) and it names the service's entities (EntitiesDiffer)."""
    pool = await db.create_pool(config)
    try:
        await must_know_the_same_entities(pool)
    except BaseException:
        pool.close()
        await pool.wait_closed()
        raise
    return pool


async def check_database(config):
    """checked_pool()'s checks alone, for the parent of WORKERS processes: a refusal is then one line."""
    pool = await checked_pool(config)
    pool.close()
    await pool.wait_closed()


async def must_know_the_same_entities(pool):
    """Raises EntitiesDiffer unless the database's table entities holds ENTITIES, each with its id
    column: a database migrated by another version of the service would fail its batches."""
    stored = await db.entity_id_columns(pool)
    ours = {name: entity.id_field for name, entity in ENTITIES.items()}
    if stored != ours:
        raise EntitiesDiffer(
            f"the database's entities {sorted(stored.items())} are not the service's {sorted(ours.items())}: "
            "run `python -m service migrate` with this version of the service"
        )


# What Tornado writes, and all it writes, when it cannot parse a request (a bad
# request line, header or chunk): tornado/http1connection.py, _read_message.
TORNADOS_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"
_ENVELOPE = json.dumps(
    {"success": False, "error": {"code": "bad_request", "message": "The request is not valid HTTP/1.1."}}
).encode()


def malformed_request_answer():
    """The envelope, with a request id of its own like every answer."""
    return (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=UTF-8\r\n"
        b"X-Request-Id: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (request_id_of(None).encode(), len(_ENVELOPE), _ENVELOPE)
    )


class Server(tornado.httpserver.HTTPServer):
    """Tornado's HTTP server, whose answer to a request it cannot parse is the JSON envelope too.

    Tornado writes that answer itself, deep in its connection code, with no
    hook: the one write of exactly those bytes on a connection is replaced.
    """

    def handle_stream(self, stream, address):
        write = stream.write

        def write_envelope_for_bare_400(data):
            return write(malformed_request_answer() if data == TORNADOS_BARE_400 else data)

        stream.write = write_envelope_for_bare_400
        super().handle_stream(stream, address)


def make_server(app, config):
    """The HTTP server, with its time limits.

    Every handler bounds its own body (answering 413 itself), so Tornado's
    own ceiling, which answers a bare 400, is set out of reach.
    """
    return Server(
        app,
        max_body_size=2**62,
        idle_connection_timeout=config.header_timeout_s,
        body_timeout=config.body_timeout_s,
    )


# The cyclic collector's youngest generation is collected every this many new containers (Python's
# default: 700). A batch's parsed records are hundreds of thousands of containers, none of them in
# a cycle; at the default, collecting them as they are made, and the older generations they are
# promoted to, cost a 5,000-product batch about 10% of its server time (docs/performance.md).
GC_YOUNGEST_THRESHOLD = 10_000


async def run(config, sockets=None):
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await serve(config, stopping, sockets=sockets)

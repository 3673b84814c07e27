"""WORKERS server processes on one port: each with its own event loop and pool, accepting from
one listening socket bound before the fork. The parent serves nothing: it forwards SIGTERM and
SIGINT to the workers, each of which shuts down gracefully, and waits for them all. A worker
that exits on its own stops the others, so that the supervisor above restarts the service."""

import asyncio
import errno
import logging
import os
import signal
import warnings

import tornado.netutil

from . import server

log = logging.getLogger("wcsync.workers")

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class PortInUse(Exception):
    """Another process listens on the port: the command line says so in one line."""

    def __init__(self, port):
        super().__init__(f"port {port} is in use: stop what listens there, or set PORT to another port")


def listening_sockets(port, address):
    """The port's listening sockets on address (BIND_ADDRESS; "" for every interface), bound before
    anything else starts (no pool to close after)."""
    # Tornado leaves the socket it could not bind to the collector, which would warn of it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return tornado.netutil.bind_sockets(port, address or None)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise PortInUse(port)


def worker_count(setting):
    """WORKERS: 0 is one per usable core."""
    return setting if setting > 0 else len(os.sched_getaffinity(0))


def run(config, sockets):
    """Serves on sockets (listening_sockets) until SIGTERM or SIGINT; the exit status: 0 once every
    worker stopped cleanly."""
    count = worker_count(config.workers)
    if count == 1:
        asyncio.run(server.run(config, sockets))
        return 0
    asyncio.run(server.check_database(config))  # before the fork: a refusal is one line, not one per worker
    # Blocked until every worker is known, so that none misses the signal.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    workers = set()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(serve_worker(config, sockets))
        workers.add(pid)
    log.info("%d workers on port %d: %s", count, config.port, " ".join(map(str, sorted(workers))))
    return supervise(workers, sockets)


def serve_worker(config, sockets):
    """A worker's life: its exit status. It never returns into the parent's code (os._exit)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        asyncio.run(server.run(config, sockets))
        return 0
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        return 1
    finally:
        logging.shutdown()


def supervise(workers, sockets):
    stopping = False

    def stop(signum, frame=None):
        nonlocal stopping
        stopping = True
        for pid in workers:
            os.kill(pid, signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    status = 0
    try:
        while workers:
            pid, wait_status = os.wait()
            workers.discard(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            if code or not stopping:
                log.error("worker %d exited with %d%s", pid, code, "" if stopping else ": stopping the others")
                status = 1
                if not stopping:
                    stop(signal.SIGTERM)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for sock in sockets:
            sock.close()
    log.info("all workers stopped")
    return status

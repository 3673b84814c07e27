"""A batch's answer agrees with the database when its connection dies around the commit.

The service reaches PostgreSQL through a TCP proxy of the test's, which can
cut the connection of the batch's statement at a chosen moment: after
PostgreSQL's reply has left the server (the commit happened, the answer is
lost) or before the statement reaches it. (tests/test_commit_truth_loop.py:
the same under a loop terminating the backends of running batches.)
"""

import asyncio
import dataclasses
import json

import pytest
from psycopg2.extensions import make_dsn, parse_dsn

from service import db
from service.http.app import Application

from http_helpers import assert_error

STATEMENT = b"upsert_products"  # in the batch's statement only


class CuttingProxy:
    """A TCP proxy to PostgreSQL that cuts one connection, once: the first whose client sends
    STATEMENT, either before it reaches the server ("request") or when the server's first
    reply to it comes back ("reply")."""

    def __init__(self, database_url):
        params = parse_dsn(database_url)
        host, port = params.get("host", "localhost"), params.get("port", "5432")
        self.unix_path = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self.target = (host, int(port))
        self.database_url = database_url
        self.cut_at = None  # "request" or "reply": armed
        self.cuts = 0
        self.connections = set()  # one task each, to end at stop()

    async def start(self):
        self.server = await asyncio.start_server(self.connect, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = make_dsn(self.database_url, host="127.0.0.1", port=port)

    def arm(self, cut_at):
        self.cut_at = cut_at

    async def connect(self, client_reader, client_writer):
        if self.unix_path:
            server_reader, server_writer = await asyncio.open_unix_connection(self.unix_path)
        else:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        awaiting_reply = asyncio.Event()

        async def to_server():
            while data := await client_reader.read(65536):
                if self.cut_at and STATEMENT in data:
                    if self.cut_at == "request":
                        return self.cut()
                    awaiting_reply.set()
                server_writer.write(data)

        async def to_client():
            while data := await server_reader.read(65536):
                if awaiting_reply.is_set() and self.cut_at == "reply":
                    return self.cut()
                client_writer.write(data)

        # Either side ending ends both, at once, as a cut network would: nothing is left half-open.
        self.connections.add(asyncio.current_task())
        pumps = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (client_writer, server_writer):
                writer.transport.abort()
            self.connections.discard(asyncio.current_task())

    def cut(self):
        self.cut_at = None
        self.cuts += 1

    async def stop(self):
        self.server.close()
        for connection in list(self.connections):
            connection.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)
        await self.server.wait_closed()


@pytest.fixture
def proxy(io_loop, database_url):
    proxy = CuttingProxy(database_url)
    io_loop.run_sync(proxy.start)
    yield proxy
    io_loop.run_sync(proxy.stop)


@pytest.fixture
def app(io_loop, config, proxy):
    """The application, reaching the database through the proxy (overrides conftest's app)."""
    proxied = dataclasses.replace(config, database_url=proxy.url)
    pool = io_loop.run_sync(lambda: db.create_pool(proxied))
    yield Application(proxied, pool)
    pool.close()
    io_loop.run_sync(pool.wait_closed)


def products(first, count):
    return [{"id": n, "name": f"product {n}"} for n in range(first, first + count)]


def stored_ids(query, store_id):
    return {
        row["wc_product_id"] for row in query("SELECT wc_product_id FROM products WHERE store_id = %s", (store_id,))
    }


def log_status(query, store_id, sync_log_id):
    [row] = query("SELECT status FROM sync_logs WHERE store_id = %s AND id = %s", (store_id, sync_log_id))
    return row["status"]


@pytest.mark.gen_test(timeout=30)
async def test_a_batch_whose_answer_is_lost_after_its_commit_is_answered_200_from_its_log(proxy, post, store, query):
    proxy.arm("reply")
    records = [*products(1, 3), {"id": 99}]  # the last is skipped by the HTTP layer (no name)
    response = await post("/api/sync/products", {"products": records}, store.token)

    assert proxy.cuts == 1
    assert response.code == 200, response.body
    data = json.loads(response.body)["data"]
    assert (data["syncedCount"], data["unchangedCount"], data["skippedCount"]) == (3, 0, 1)
    assert data["errorsUnavailable"] is True
    assert [error["index"] for error in data["errors"]] == [3]  # the HTTP layer's own skips are known
    assert log_status(query, store.id, data["syncLogId"]) == "completed"
    assert stored_ids(query, store.id) == {1, 2, 3}


@pytest.mark.gen_test(timeout=30)
async def test_a_batch_cut_before_it_reaches_postgresql_is_a_503_naming_its_failed_log(proxy, post, store, query):
    proxy.arm("request")
    response = await post("/api/sync/products", {"products": products(1, 3)}, store.token)

    assert proxy.cuts == 1
    assert_error(response, 503, "service_unavailable")
    sync_log_id = json.loads(response.body)["error"]["syncLogId"]
    assert log_status(query, store.id, sync_log_id) == "failed"
    assert stored_ids(query, store.id) == set()

"""The server process: serving, and graceful shutdown with batches in flight."""

import asyncio
import dataclasses
import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from tornado.httpclient import AsyncHTTPClient

from bench.server import free_port
from service.config import Config
from service.http.logs import log_loop_exception
from service.http.server import serve
from service.http.workers import listening_sockets

from http_helpers import blocked_batch_pid


@pytest.mark.gen_test(timeout=30)
async def test_shutdown_finishes_in_flight_batches(config, store, query, hold_store_row):
    config = dataclasses.replace(config, port=free_port(), shutdown_timeout_s=20)
    stopping, ready = asyncio.Event(), asyncio.Event()
    server = asyncio.ensure_future(serve(config, stopping, ready))
    await ready.wait()

    release = hold_store_row(store.id)
    request = AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{config.port}/api/sync/products",
        method="POST",
        raise_error=False,
        headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
        body=json.dumps({"products": [{"wc_product_id": 1, "name": "in flight"}]}),
    )
    for _ in range(100):  # until the batch is waiting on the lock
        if query("SELECT 1 FROM sync_logs WHERE store_id = %s AND status = 'running'", (store.id,)):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the batch never started")
    stopping.set()
    await asyncio.sleep(0.3)
    assert not server.done(), "shutdown must wait for the in-flight batch"
    release()

    response = await request
    await asyncio.wait_for(server, 10)
    assert response.code == 200
    assert query("SELECT name FROM products WHERE store_id = %s", (store.id,)) == [{"name": "in flight"}]
    with pytest.raises(OSError):  # no longer listening
        socket.create_connection(("127.0.0.1", config.port), timeout=1).close()


@pytest.mark.gen_test(timeout=30)
async def test_a_client_gone_mid_body_is_not_left_in_flight(config, store):
    """Half a body, then the connection closes: the request is forgotten, and shutdown is immediate."""
    config = dataclasses.replace(config, port=free_port(), shutdown_timeout_s=20)
    stopping, ready = asyncio.Event(), asyncio.Event()
    server = asyncio.ensure_future(serve(config, stopping, ready))
    await ready.wait()

    reader, writer = await asyncio.open_connection("127.0.0.1", config.port)
    writer.write(
        (
            f"POST /api/sync/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {store.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
        ).encode()
        + b'{"products": ['
        + b" " * 100_000
    )
    await writer.drain()
    await asyncio.sleep(0.3)  # the body is being read
    writer.close()
    await asyncio.sleep(0.3)

    began = time.monotonic()
    stopping.set()
    await asyncio.wait_for(server, 10)
    assert time.monotonic() - began < 5  # not the 20 s a forgotten request would hold it


def test_sigterm_stops_the_server_process(database_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "WEBHOOK_KEY": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    assert f"listening on port {port}" in output
    assert "WEBHOOK_KEY is not set: webhook deliveries are answered 503" in output
    assert "stopped" in output


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("embedded", [False, True], ids=["DATABASE_URL", "embedded"])
def test_a_port_in_use_is_one_line_naming_it_before_anything_starts(database_url, workers, embedded):
    data_dir = tempfile.mkdtemp()
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": "" if embedded else database_url, "DATA_DIR": data_dir}
        env.update(PORT=str(port), WORKERS=workers)
        done = subprocess.run(
            [sys.executable, "-X", "dev", "-m", "service", "serve"], env=env, capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"port {port} is in use: stop what listens there, or set PORT to another port\n"
    assert os.listdir(data_dir) == []  # no embedded PostgreSQL was started
    os.rmdir(data_dir)


@pytest.mark.gen_test(timeout=30)
async def test_a_cancelled_statement_logs_its_class_and_sqlstate_only(config, store, query, hold_store_row, caplog):
    config = dataclasses.replace(config, port=free_port())
    stopping, ready = asyncio.Event(), asyncio.Event()
    server = asyncio.ensure_future(serve(config, stopping, ready))
    await ready.wait()
    caplog.set_level(logging.DEBUG)

    hold_store_row(store.id)
    request = AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{config.port}/api/sync/products",
        method="POST",
        raise_error=False,
        headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
        body=json.dumps({"products": [{"wc_product_id": 1, "name": "cancelled"}]}),
    )
    query("SELECT pg_cancel_backend(%s)", (await blocked_batch_pid(query, "upsert_products"),))
    response = await request
    gc.collect()  # an exception never retrieved is reported when its future is collected
    stopping.set()
    await asyncio.wait_for(server, 10)

    assert response.code == 503
    logged = "\n".join(
        rec.getMessage() + (logging.Formatter().formatException(rec.exc_info) if rec.exc_info else "")
        for rec in caplog.records
    )
    assert "QueryCanceled (SQLSTATE 57014)" in logged
    assert "canceling statement" not in logged and "never retrieved" not in logged


def test_other_loop_errors_still_reach_asyncios_handler(caplog):
    loop = asyncio.new_event_loop()
    try:
        log_loop_exception(loop, {"message": "something else", "exception": RuntimeError("boom")})
    finally:
        loop.close()
    assert [(rec.name, rec.getMessage()) for rec in caplog.records] == [("asyncio", "something else")]


@pytest.mark.parametrize(
    "address, hosts", [(Config().bind_address, {"127.0.0.1"}), ("", {"0.0.0.0", "::"})], ids=["default", "every"]
)
def test_the_server_listens_on_bind_address_this_machine_only_by_default(address, hosts):
    sockets = listening_sockets(free_port(), address)
    try:
        assert {sock.getsockname()[0] for sock in sockets} <= hosts
        assert {sock.getsockname()[0] for sock in sockets} & hosts
    finally:
        for sock in sockets:
            sock.close()

"""The server process: serving, and graceful shutdown with batches in flight."""
import asyncio
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from tornado.httpclient import AsyncHTTPClient

from service.server import serve
from http_helpers import free_port


@pytest.mark.gen_test(timeout=30)
async def test_shutdown_finishes_in_flight_batches(config, store, query, hold_store_row):
    config = dataclasses.replace(config, port=free_port(), shutdown_timeout_s=20)
    stopping, ready = asyncio.Event(), asyncio.Event()
    server = asyncio.ensure_future(serve(config, stopping, ready))
    await ready.wait()

    release = hold_store_row(store.id)
    request = AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{config.port}/api/sync/products", method="POST", raise_error=False,
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
    writer.write((f"POST /api/sync/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {store.token}\r\n"
                  "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n").encode()
                 + b'{"products": [' + b" " * 100_000)
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
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "service", "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    assert "stopped" in output

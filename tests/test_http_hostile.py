"""Hostile connections, at the socket: bodies that are refused unread, clients that go away
mid-body, broken framing, slow and half-open connections, and 413s a client can read.

Each answer is the JSON error envelope, and no handler outlives its connection.
"""

import asyncio
import gc
import gzip
import http.client
import json
import logging

import pytest

from service.http.batches import BatchHandler

from http_helpers import assert_error, nothing_written
from raw_http import error_code, exchange, head

MB = 1024 * 1024


@pytest.fixture
def port(http_server, http_port):
    """The port of the test server, started."""
    return http_port


def sync_head(token, headers=None, path="/api/sync/products"):
    return head(
        "POST", path, {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
    )


def live_sync_handlers():
    gc.collect()
    return [obj for obj in gc.get_objects() if isinstance(obj, BatchHandler)]


# --- Bodies nobody asked for are refused before they are read ---


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("POST", "/nope", 404, "not_found"),
        ("PUT", "/api/sync", 404, "not_found"),
        ("GET", "/health", 413, "payload_too_large"),
        ("POST", "/health", 405, "method_not_allowed"),
    ],
)
@pytest.mark.gen_test
async def test_a_body_is_refused_before_it_is_sent_except_on_sync_routes(port, method, path, status, code):
    """Only the headers are sent, announcing 40 MB: the answer comes without waiting for them."""
    answer, headers, body = await exchange(port, head(method, path, {"Content-Length": str(40 * MB)}), 2)
    assert (answer, error_code(body)) == (status, code)
    if status == 405:
        assert headers["Allow"] == "GET"


@pytest.mark.gen_test
async def test_health_without_a_body_still_answers(port):
    answer, _, body = await exchange(port, head("GET", "/health", {"Connection": "close"}))
    assert (answer, body["data"]["status"]) == (200, "ok")


# --- A client gone mid-body leaves nothing behind ---


@pytest.mark.parametrize(
    "framing, partial_body",
    [
        ({"Content-Length": "1000000"}, b'{"products": [' + b" " * 100_000),
        ({"Transfer-Encoding": "chunked"}, b"10000\r\n" + b" " * 30_000),
    ],
)
@pytest.mark.gen_test(timeout=20)
async def test_a_client_gone_mid_body_frees_its_handler(port, store, query, app, logs, framing, partial_body):
    for _ in range(20):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(sync_head(store.token, framing) + partial_body)
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.close()
    await asyncio.sleep(0.3)

    assert live_sync_handlers() == []
    assert app.in_flight == set()
    assert not [rec for rec in logs.records if rec.levelno >= logging.ERROR]
    nothing_written(query, store.id)


@pytest.mark.parametrize(
    "framing, words",
    [
        ({"Content-Length": "-1"}, "Content-Length"),
        ({"Content-Length": "12abc"}, "Content-Length"),
        ({"Content-Length": "5", "Transfer-Encoding": "chunked"}, "both"),
        ({"Transfer-Encoding": "gzip"}, "chunked"),
    ],
)
@pytest.mark.gen_test
async def test_broken_framing_is_a_400_envelope_and_frees_the_handler(port, store, query, logs, framing, words):
    answer, _, body = await exchange(port, sync_head(store.token, framing) + b'{"products": []}')
    assert (answer, error_code(body)) == (400, "bad_request")
    assert words in body["error"]["message"]
    assert live_sync_handlers() == []
    assert not [rec for rec in logs.records if rec.name == "tornado.general"]  # no bare 400 of Tornado's
    nothing_written(query, store.id)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


# --- Over the size limit: a 413 the client reads ---

LIMIT = 64 * 1024


def post_with_http_client(port, token, body, headers=None):
    """Python's http.client, which sends the whole body before it reads: (status, error code)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/api/sync/products",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())["error"]["code"]
    finally:
        conn.close()


@pytest.mark.parametrize("config", [{"max_body_bytes": LIMIT}], indirect=True)
@pytest.mark.gen_test(timeout=30)
async def test_http_client_reads_the_413_of_a_body_over_the_limit(port, store, query, config):
    body = b'{"products": [' + b" " * (8 * MB) + b"]}"
    result = await asyncio.get_running_loop().run_in_executor(None, post_with_http_client, port, store.token, body)
    assert result == (413, "payload_too_large")
    nothing_written(query, store.id)


LINGER = 256 * 1024


@pytest.mark.parametrize("config", [{"max_body_bytes": LIMIT, "linger_bytes": LINGER}], indirect=True)
@pytest.mark.parametrize(
    "framing, sent",
    [
        ({"Content-Length": str(LIMIT + LINGER + 1)}, b""),
        # One chunk announced larger than what is sent: the server has all of it when it answers.
        ({"Transfer-Encoding": "chunked"}, b"%x\r\n" % MB + b" " * (LIMIT + LINGER + 1)),
    ],
    ids=["content-length", "chunked"],
)
@pytest.mark.gen_test(timeout=30)
async def test_past_the_lingering_bound_the_413_comes_at_once(port, store, query, config, framing, sent):
    """Past max_body_bytes + linger_bytes, the server answers and closes without reading more."""
    answer, _, body = await exchange(port, sync_head(store.token, framing) + sent)
    assert (answer, error_code(body)) == (413, "payload_too_large")
    assert live_sync_handlers() == []
    nothing_written(query, store.id)


# --- Slow and half-open connections ---


@pytest.mark.parametrize("config", [{"header_timeout_s": 0.3}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_connections_that_never_finish_their_headers_are_closed(port, config):
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]
    for _, writer in connections:
        writer.write(b"POST /api/sync/products HTTP/1.1\r\nHost: x\r\n")
    await asyncio.sleep(0.6)
    closed = await asyncio.gather(*(asyncio.wait_for(reader.read(), 2) for reader, _ in connections))
    assert closed == [b""] * 200
    for _, writer in connections:
        writer.close()


@pytest.mark.parametrize("config", [{"body_timeout_s": 0.3}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_a_body_that_never_arrives_is_given_up_and_its_handler_freed(port, store, query, config, app):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sync_head(store.token, {"Content-Length": "1000"}) + b'{"products": [')
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    assert live_sync_handlers() == []
    assert app.in_flight == set()
    nothing_written(query, store.id)


# --- gzip ---


@pytest.mark.gen_test
async def test_a_gzipped_body_is_accepted(post, store, query):
    body = gzip.compress(json.dumps({"products": [{"wc_product_id": n, "name": "gz"} for n in range(1, 4)]}).encode())
    response = await post("/api/sync/products", body, store.token, headers={"Content-Encoding": "gzip"})
    assert response.code == 200, response.body
    assert query("SELECT count(*) AS n FROM products WHERE store_id = %s", (store.id,)) == [{"n": 3}]


@pytest.mark.parametrize("config", [{"max_body_bytes": LIMIT}], indirect=True)
@pytest.mark.gen_test(timeout=20)
async def test_a_zip_bomb_is_413(post, store, query, config):
    bomb = gzip.compress(b'{"products": [' + b" " * (64 * MB) + b"]}", 9)
    assert len(bomb) < LIMIT
    response = await post("/api/sync/products", bomb, store.token, headers={"Content-Encoding": "gzip"})
    assert_error(response, 413, "payload_too_large")
    nothing_written(query, store.id)


@pytest.mark.parametrize(
    "body", [b"not gzip at all", gzip.compress(b'{"products": []}')[:-6]], ids=["garbage", "truncated"]
)
@pytest.mark.gen_test
async def test_a_broken_gzip_body_is_400(post, store, query, body):
    response = await post("/api/sync/products", body, store.token, headers={"Content-Encoding": "gzip"})
    assert "gzip" in assert_error(response, 400, "bad_request")
    nothing_written(query, store.id)


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, br", "compress"])
@pytest.mark.gen_test
async def test_other_content_encodings_are_415(post, store, query, encoding):
    response = await post("/api/sync/products", {"products": []}, store.token, headers={"Content-Encoding": encoding})
    assert "gzip" in assert_error(response, 415, "unsupported_media_type")
    nothing_written(query, store.id)


# --- Requests Tornado itself cannot parse still get the JSON envelope ---


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wcs_secret\x01value\r\n\r\n",  # a control character
        b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        b"POST /api/sync/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a bad chunk size
    ],
    ids=["control character", "header without colon", "bad request line", "bad chunk"],
)
async def test_a_request_tornado_cannot_parse_gets_the_json_envelope(port, store, logs, request_bytes):
    answer, headers, body = await exchange(port, request_bytes.replace(b"{token}", store.token.encode()))
    assert (answer, error_code(body)) == (400, "bad_request")
    assert headers["Content-Type"].startswith("application/json")
    assert "wcs_secret" not in logs.text

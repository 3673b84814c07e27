"""Request ids (X-Request-Id) and the log formats: LOG_FORMAT=json writes one JSON object a line."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from bench.server import free_port
from service.http import logs

from http_helpers import record


@pytest.mark.parametrize(
    "sent, kept",
    [("plugin-7f3a.9:2", True), ("x" * 64, True), ("x" * 65, False), ("has space", False), ("a@b.c", False)],
)
@pytest.mark.gen_test
async def test_a_short_plain_request_id_is_echoed_else_a_new_one(http_client, base_url, sent, kept):
    response = await http_client.fetch(base_url + "/health", headers={"X-Request-Id": sent})
    echoed = response.headers["X-Request-Id"]
    assert (echoed == sent) is kept
    assert kept or re.fullmatch(r"[0-9a-f]{32}", echoed)


@pytest.mark.gen_test
async def test_a_token_is_never_taken_for_a_request_id(post, store):
    response = await post("/api/sync/products", {"products": []}, store.token, {"X-Request-Id": store.token})
    assert response.code == 200 and response.headers["X-Request-Id"] != store.token


@pytest.mark.gen_test
async def test_error_answers_carry_the_request_id_too(post):
    response = await post("/api/sync/products", {"products": []}, "wcs_unknown", {"X-Request-Id": "err-1"})
    assert (response.code, response.headers["X-Request-Id"]) == (401, "err-1")


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        logs.configure("xml")


def send(base_url, path, body=None, token=None, request_id=None):
    """(status, X-Request-Id) of a request to the server process."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if request_id:
        headers["X-Request-Id"] = request_id
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["X-Request-Id"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-Id"]


def served_log(database_url, log_format, store):
    """The server process's log lines, and the request ids of the answers it gave meanwhile."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "LOG_FORMAT": log_format}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                health = send(base_url, "/health")
                break
            except OSError:
                time.sleep(0.1)
        answers = [
            health,
            send(
                base_url,
                "/api/sync/products",
                {"products": [record("products", 1), {"wc_product_id": -1}]},
                store.token,
            ),
            send(base_url, "/api/sync/customers", {"customers": [record("customers", 1)]}, store.token, "plugin-42"),
            send(base_url, "/api/sync/products", {"products": []}, "wcs_unknown"),
            send(base_url, "/nowhere"),
            send(base_url, "/metrics"),
        ]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert [status for status, _ in answers] == [200, 200, 200, 401, 404, 200]
    return output.splitlines(), {request_id for _, request_id in answers}


def test_with_log_format_json_every_line_is_json_and_each_request_s_carry_its_id(database_url, store):
    lines, request_ids = served_log(database_url, "json", store)
    entries = [json.loads(line) for line in lines]  # every line, or this fails
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    about_requests = [entry for entry in entries if entry["logger"] != "wcsync.server"]  # not listening, stopped
    assert about_requests and all(entry["request_id"] in request_ids for entry in about_requests)
    assert {entry["request_id"] for entry in about_requests} == request_ids
    assert "plugin-42" in request_ids

    [skipped] = [entry for entry in entries if entry["message"].startswith("skipped 1 of 2 products")]
    [batch] = [entry for entry in entries if entry["message"].startswith("products batch") and entry["synced"] == 1]
    assert skipped["request_id"] == batch["request_id"]
    assert batch["store_id"] == store.id and batch["entity"] == "products" and batch["sync_status"] == "completed"
    assert (batch["received"], batch["synced"], batch["unchanged"], batch["skipped"]) == (2, 1, 0, 1)
    assert batch["sync_log_id"] and batch["duration_ms"] > 0
    [access] = [entry for entry in entries if entry.get("route") == "unmatched"]
    assert (access["status"], access["path"], access["method"]) == (404, "/nowhere", "GET")
    assert store.token not in "\n".join(lines)


def test_the_text_format_ends_each_request_s_line_with_its_id(database_url, store):
    lines, request_ids = served_log(database_url, "text", store)
    access = [line for line in lines if " tornado.access " in line]
    assert access and all(line.rsplit(" request_id=", 1)[1] in request_ids for line in access)


def test_a_json_line_holds_its_exception():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("wcsync.test").makeRecord(
            "wcsync.test", logging.ERROR, "f", 1, "failed", (), sys.exc_info()
        )
    logs.WithRequestId().filter(record)
    entry = json.loads(logs.JsonFormat().format(record))
    assert entry["message"] == "failed" and "RuntimeError: boom" in entry["exception"] and "request_id" not in entry

"""Fixtures: a fresh test database, stores with tokens, and the HTTP app.

The test database is $TEST_DATABASE_URL, dropped, recreated and migrated
once per test session, or, when it is not set, one in a throwaway embedded
PostgreSQL; either way every run starts from the migrations alone.
Tests share it; each test works in stores of its own (store_id scopes
everything), so tests never see each other's rows.
"""

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import hypothesis
import psycopg2
import psycopg2.extras
import pytest
from psycopg2 import sql
from tornado.httpclient import HTTPClientError

from service import db
from service.config import Config
from service.db import embedded
from service.db.migrate import apply_migrations, create_database, database_name, recreate_database
from service.http.app import Application
from service.http.auth import hash_token, new_token
from service.http.server import make_server

import openapi_check
from http_helpers import signature, wc_json

# CI runs the property tests derandomised (HYPOTHESIS_PROFILE=ci), so that
# a landing is never decided by the luck of the draw; locally they explore.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
WEBHOOK_KEY = "test key for the webhook secrets"


def pytest_configure(config):
    """The suite drops its database: never one that is not a test database."""
    if TEST_DATABASE_URL and not database_name(TEST_DATABASE_URL).endswith("_test"):
        raise pytest.UsageError(
            f"refusing TEST_DATABASE_URL: the suite drops and recreates its database, and "
            f"{database_name(TEST_DATABASE_URL)!r} does not end in _test. Name a test database "
            f"(e.g. wcsync_test), or unset TEST_DATABASE_URL to use a throwaway embedded PostgreSQL."
        )


@dataclass
class Store:
    id: str
    token: str


@pytest.fixture(scope="session", autouse=True)
def root_home():
    """embedded.ROOT_HOME (as root: the binaries' copy and the clusters out of reach), removed at
    the end unless it was there before: the suite leaves nothing behind."""
    existed = embedded.ROOT_HOME.exists()
    yield embedded.ROOT_HOME
    if not existed:
        shutil.rmtree(embedded.ROOT_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url():
    if TEST_DATABASE_URL:
        recreate_database(TEST_DATABASE_URL)
        apply_migrations(TEST_DATABASE_URL)
        yield TEST_DATABASE_URL
        return
    with embedded.throwaway() as cluster:
        url = cluster.url("wcsync_test")
        create_database(url)
        apply_migrations(url)
        yield url


@pytest.fixture
def conn(database_url):
    """An autocommit connection whose cursors return dicts."""
    connection = psycopg2.connect(database_url, cursor_factory=psycopg2.extras.RealDictCursor)
    connection.autocommit = True
    yield connection
    connection.close()


@pytest.fixture
def query(conn):
    """query(sql, params) -> list of row dicts."""

    def run(statement, params=()):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else []

    return run


@pytest.fixture
def make_store(query):
    """make_store(name='Test store') -> Store with a live token."""

    def create(name="Test store"):
        token = new_token()
        [row] = query("SELECT create_store(%s, %s) AS id", (name, hash_token(token)))
        return Store(id=str(row["id"]), token=token)

    return create


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def sync_sql(query):
    """sync_sql(entity, store_id, records) calls upsert_<entity> as psql would; returns its row."""

    def call(entity, store_id, records):
        [row] = query(
            sql.SQL("SELECT * FROM {}(%s, %s::jsonb)").format(sql.Identifier(f"upsert_{entity}")),
            (store_id, json.dumps(records)),
        )
        return row

    return call


@pytest.fixture
def config(database_url, request):
    """The service's configuration; a test may change some with an indirect parameter:
    @pytest.mark.parametrize("config", [{"statement_timeout_ms": 500}], indirect=True)."""
    overrides = getattr(request, "param", {})
    defaults = {
        "database_url": database_url,
        "statement_timeout_ms": 10_000,
        "pool_size": 4,
        "webhook_key": WEBHOOK_KEY,
    }
    return Config(**{**defaults, **overrides})


@pytest.fixture
def app(io_loop, config):
    """The application on a real pool (pytest-tornado serves it)."""
    pool = io_loop.run_sync(lambda: db.create_pool(config))
    yield Application(config, pool)
    pool.close()
    io_loop.run_sync(pool.wait_closed)


@pytest.fixture
def http_server(io_loop, _unused_port, app, config):
    """pytest-tornado's server, built as the service builds its own (time limits included)."""
    server = make_server(app, config)
    server.add_socket(_unused_port[0])
    yield server
    server.stop()
    io_loop.run_sync(server.close_all_connections)


class CheckedClient:
    """pytest-tornado's client, whose every answer is checked against service/http/openapi.json."""

    def __init__(self, client):
        self.client = client

    async def fetch(self, request, **kwargs):
        try:
            response = await self.client.fetch(request, **kwargs)
        except HTTPClientError as exc:
            if exc.response is not None:
                self.check(exc.response)
            raise
        self.check(response)
        return response

    @staticmethod
    def check(response):
        if response.code != 599:  # no answer: a timeout or a closed connection
            request = response.request
            openapi_check.check(
                request.method, urlsplit(request.url).path, response.code, response.headers, response.body
            )


@pytest.fixture
def http_client(http_client):
    return CheckedClient(http_client)


@pytest.fixture
def post(http_client, base_url):
    """await post(path, body, token=None, headers=None) -> response (never raises on status).

    body is JSON-encoded unless it is bytes or str.
    """

    async def send(path, body, token=None, headers=None):
        all_headers = {"Content-Type": "application/json"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return await http_client.fetch(
            base_url + path, method="POST", body=body, headers=all_headers, raise_error=False
        )

    return send


@pytest.fixture
def hold_store_row(database_url):
    """hold_store_row(store_id) -> release(): the store's batches then wait at their last
    statement (stores.last_sync_at) until release() or the test's end."""
    connections = []

    def hold(store_id):
        conn = psycopg2.connect(database_url)
        connections.append(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM stores WHERE id = %s FOR NO KEY UPDATE", (store_id,))
        return conn.rollback

    yield hold
    for conn in connections:
        conn.close()


@pytest.fixture
def webhook_store(make_store, query):
    """webhook_store() -> (store, secret): a store whose webhook secret is set."""

    def create():
        store, secret = make_store(), f"secret-{uuid.uuid4().hex}"
        query("SELECT webhook_secret_set(%s, %s, %s)", (store.id, secret, WEBHOOK_KEY))
        return store, secret

    return create


@pytest.fixture
def deliver(post):
    """await deliver(store_id, secret, topic, resource, ...) -> response, as WooCommerce delivers.

    body: raw bytes instead of the resource's JSON; signature: the header's value instead of
    the right one (None: no header).
    """

    async def send(store_id, secret, topic, resource=None, delivery_id=None, body=None, signature_header=""):
        body = wc_json(resource) if body is None else body
        resource_name, _, event = topic.partition(".")
        headers = {
            "User-Agent": "WooCommerce/8.5.1 Hookshot (WordPress/6.4.2)",
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "https://shop.example/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource_name,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-ID": "7",
            "X-WC-Webhook-Delivery-ID": delivery_id or hashlib.md5(uuid.uuid4().bytes).hexdigest(),
        }
        if signature_header is not None:
            headers["X-WC-Webhook-Signature"] = signature_header or signature(secret, body)
        return await post(f"/api/webhooks/woocommerce/{store_id}", body, headers=headers)

    return send

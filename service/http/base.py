"""What every handler shares: the error envelope and what maps to it (ApiError, database errors,
the run functions' refusals), the request's id and authentication, and a streamed body's limits.
The handlers are by route family: batches.py, runs.py, webhooks.py, ops.py."""

import asyncio
import json
import logging

import psycopg2
import tornado.web

from .. import db
from ..batch.body import BodyBuffer, announces_body, framing_problem, media_type
from .auth import bearer_token, hash_token
from .logs import REQUEST_ID, log_uncaught, request_id_of

log = logging.getLogger("wcsync.http")

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
RETRY_AFTER_SECONDS = 5

# What a lost, restarting or overloaded database looks like from here.
DATABASE_UNAVAILABLE = (psycopg2.OperationalError, psycopg2.InterfaceError, asyncio.TimeoutError)

# The full sync run functions' own SQLSTATEs (sql/sync_runs.sql): their messages quote only ids and
# batch numbers, and their DETAIL, when there is one, is JSON for the client.
RUN_ERRORS = {
    "WR000": (400, "bad_request"),
    "WR001": (409, "unknown_run"),
    "WR002": (409, "run_not_running"),
    "WR003": (409, "run_conflict"),
    "WR004": (409, "run_incomplete"),
    "WR005": (409, "entity_not_in_run"),
}


class ApiError(tornado.web.HTTPError):
    """An error the client is told about, with a stable code and a clear message."""

    def __init__(self, status_code, code, message, headers=None, details=None, sync_log_id=None):
        super().__init__(status_code)
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details  # a JSON object, sent as error.details
        self.sync_log_id = sync_log_id  # a batch's sync log, sent as error.syncLogId


def database_error(exc, sync_log_id=None):
    """503 for an unreachable database or a busy pool, else 500; naming the batch's sync log, if there is one."""
    if isinstance(exc, db.PoolBusy):
        log.warning("no database connection came free in time")
        return ApiError(
            503,
            "service_unavailable",
            "Every database connection is busy; retry later.",
            {"Retry-After": str(exc.retry_after)},  # the queue's own estimate (db.queue_seconds)
            sync_log_id=sync_log_id,
        )
    if isinstance(exc, DATABASE_UNAVAILABLE):
        log.warning("database unavailable: %s", type(exc).__name__)
        return ApiError(
            503,
            "service_unavailable",
            "The database is unavailable; retry later.",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
            sync_log_id=sync_log_id,
        )
    log.error("database error: %s (SQLSTATE %s)", type(exc).__name__, exc.pgcode)
    return ApiError(500, "internal_error", "Internal server error.", sync_log_id=sync_log_id)


def run_error(exc, overrides):
    """The ApiError for an error a run function raised on purpose, or None."""
    if not isinstance(exc, psycopg2.Error):
        return None
    status, code = overrides.get(exc.pgcode) or RUN_ERRORS.get(exc.pgcode, (None, None))
    if status is None:
        return None
    detail = exc.diag.message_detail
    return ApiError(status, code, exc.diag.message_primary, details=json.loads(detail) if detail else None)


@tornado.web.stream_request_body
class JsonHandler(tornado.web.RequestHandler):
    """Every handler streams its body, so that it can refuse one before reading it:
    Tornado reads a whole body before calling a handler that does not.

    route is the handler's path as in the OpenAPI document: the metrics' label.
    Every answer carries the request's id (X-Request-Id), and so does every log
    line of the request's task (logs.REQUEST_ID).
    """

    route = "unmatched"

    def __init__(self, application, request, **kwargs):
        self.request_id = request_id_of(request.headers.get("X-Request-Id"))
        super().__init__(application, request, **kwargs)

    def set_default_headers(self):  # also after send_error's clear(): error answers keep it
        self.set_header("X-Request-Id", self.request_id)

    @property
    def pool(self):
        return self.application.pool

    @property
    def config(self):
        return self.application.config

    async def database(self, awaitable, overrides=None):
        """Awaits a database call; an unreachable database becomes 503, a run function's refusal
        its status and code (RUN_ERRORS, or overrides: {sqlstate: (status, code)}), any other error 500.

        Only the error's class and SQLSTATE are logged: PostgreSQL's message
        may quote the data (a record, an email).
        """
        try:
            return await awaitable
        except db.BatchNotStored as exc:
            raise database_error(exc.__cause__, exc.sync_log_id) from None
        except (*DATABASE_UNAVAILABLE, psycopg2.Error) as exc:
            raise run_error(exc, overrides or {}) or database_error(exc) from None

    def prepare(self):
        REQUEST_ID.set(self.request_id)  # in the request's own task: other requests never see it
        problem = framing_problem(self.request.headers)
        if problem:
            # Where the body ends is unknown, so none is read (Tornado would add a bare 400 after
            # this answer); the connection closes once it is sent.
            for name in ("Content-Length", "Transfer-Encoding"):
                self.request.headers.pop(name, None)
            raise ApiError(400, "bad_request", problem)

    async def authenticate(self):
        """Sets self.store_id from the bearer token: 401 without a live one, 403 for a suspended store."""
        token = bearer_token(self.request.headers.get("Authorization"))
        if token is None:
            raise unauthorized("An 'Authorization: Bearer <token>' header is required.")
        row = await self.database(db.store_for_token(self.pool, hash_token(token)))
        if row is None:
            raise unauthorized("Unknown or revoked API token.")
        self.store_id, status = row
        if status != "active":
            raise ApiError(403, "forbidden", f"This store is {status}.")

    def gzipped(self):
        """Whether the body is gzipped; 415 for a content type, charset or encoding not accepted."""
        kind, charset = media_type(self.request.headers.get("Content-Type"))
        if kind != "application/json":
            raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json.")
        if charset not in (None, "utf-8"):
            raise ApiError(415, "unsupported_media_type", "The only charset accepted is utf-8.")
        encoding = self.request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise ApiError(415, "unsupported_media_type", "Content-Encoding must be gzip, or absent.")
        return encoding == "gzip"

    def log_exception(self, typ, value, tb):
        """Tornado's logs the request (its headers hold the token, its URI may hold a query
        string) and the exception's message (which may quote data): here, neither."""
        if not isinstance(value, tornado.web.HTTPError):  # an HTTPError is an answer, not a fault
            log_uncaught(self.request, typ, tb)

    def allowed_methods(self):
        return [
            method
            for method in self.SUPPORTED_METHODS
            if getattr(type(self), method.lower()) is not getattr(tornado.web.RequestHandler, method.lower())
        ]

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            error = {"code": exc.code, "message": exc.message}
            if exc.details is not None:
                error["details"] = exc.details
            if exc.sync_log_id is not None:
                error["syncLogId"] = str(exc.sync_log_id)
            for name, value in exc.headers.items():
                self.set_header(name, value)
        else:  # Tornado's own errors (405, ...) and anything unexpected
            error = {
                "code": ERROR_CODES.get(status_code, "error"),
                "message": self._reason if status_code < 500 else "Internal server error.",
            }
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.finish({"success": False, "error": error})


class NotFoundHandler(JsonHandler):
    def prepare(self):
        super().prepare()
        raise ApiError(404, "not_found", "No such endpoint.")


class ReadHandler(JsonHandler):
    """A GET of the service's own state: no token unless the route asks for one, no body."""

    def prepare(self):
        super().prepare()
        if self.request.method not in self.allowed_methods():
            raise tornado.web.HTTPError(405)
        if announces_body(self.request.headers):
            raise ApiError(413, "payload_too_large", "This endpoint takes no request body.")


def unauthorized(message):
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


class BodyHandler(JsonHandler):
    """A route taking a body of up to max_body_bytes, its size checked as it arrives. Once
    accepted, the request is in flight until answered: a graceful shutdown waits for it."""

    def initialize(self):
        self.body = None  # a BodyBuffer while the body arrives
        self.received = 0  # bytes on the wire, gzipped or not

    def body_limit(self):
        """The most bytes of body the route takes."""
        return self.config.max_body_bytes

    def accept_body(self, gzipped):
        self.body = BodyBuffer(self.body_limit(), gzipped)
        if int(self.request.headers.get("Content-Length", 0)) > self.lingering_limit():
            raise self.too_large_error()
        self.application.in_flight.add(self)

    def lingering_limit(self):
        """How much of a body is read at most: past body_limit(), only so that the client reads the 413."""
        return self.body_limit() + self.config.linger_bytes

    def on_finish(self):
        self.application.in_flight.discard(self)

    def on_connection_close(self):
        super().on_connection_close()  # ends the request, so that the handler is freed
        if self.body is not None:  # gone before its body was read: post() and on_finish never run
            self.application.in_flight.discard(self)
            self.body = None

    def data_received(self, chunk):
        self.received += len(chunk)
        self.body.add(chunk)
        if self.received > self.lingering_limit():
            error = self.too_large_error()
            self.send_error(error.status_code, exc_info=(ApiError, error, None))

    def too_large_error(self):
        return ApiError(413, "payload_too_large", f"The request body exceeds {self.body_limit()} bytes.")

    def raw_body(self):
        """The whole body, gunzipped; 413 when over the limit, 400 when its gzip is broken."""
        buffer, self.body = self.body, None
        if buffer.over:
            raise self.too_large_error()
        try:
            return buffer.take()
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None

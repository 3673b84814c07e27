"""HTTP handlers: one for every sync route, health, metrics, the OpenAPI document and 404 (the runs'
are in runs.py, the webhooks' in webhooks.py)."""

import asyncio
import hmac
import json
import logging
import re
import time
import uuid

import psycopg2
import tornado.web
from prometheus_client import generate_latest

from . import db, openapi
from .auth import bearer_token, hash_token
from .body import BodyBuffer, TooManyItems, announces_body, framing_problem, is_utf8, media_type, parse_batch
from .checks import MAX_BIGINT
from .logs import REQUEST_ID, log_uncaught, request_id_of
from .validation import merge_errors, validate_batch_yielding

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
# A store at its in-flight limit: one of its batches usually ends within a second.
BUSY_RETRY_AFTER_SECONDS = 1
RELEASING = set()  # the tasks releasing slots, kept from the garbage collector until done
LOGGED_SKIPS = 3  # skipped records named in the log line of a batch; the response lists more

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

    route is the handler's path as in service/openapi.json: the metrics' label.
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


class HealthHandler(ReadHandler):
    route = "/health"

    async def get(self):
        await self.database(db.ping(self.pool))
        self.write({"success": True, "data": {"status": "ok", "database": "ok"}})


class MetricsHandler(ReadHandler):
    """Prometheus' text format; with METRICS_TOKEN set, only for 'Authorization: Bearer <it>'."""

    route = "/metrics"

    def prepare(self):
        super().prepare()
        expected = self.config.metrics_token
        if expected:
            token = bearer_token(self.request.headers.get("Authorization")) or ""
            if not hmac.compare_digest(token.encode(), expected.encode()):
                raise unauthorized("GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.")

    def get(self):
        # The classic text format every Prometheus reads; the names need none of 1.0.0's escaping.
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.write(generate_latest(self.application.metrics.registry))


class OpenApiHandler(ReadHandler):
    """The API's contract (service/openapi.py)."""

    route = "/openapi.json"

    def get(self):
        self.set_header("Content-Type", "application/json")
        self.write(openapi.DOCUMENT_BYTES)


def unauthorized(message):
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


BATCH_NUMBER = re.compile(r"[1-9][0-9]{0,6}")


def run_batch(headers):
    """The batch's place in a full sync run (X-Sync-Run, X-Sync-Batch), or None; 400 if malformed."""
    run_id, number = headers.get("X-Sync-Run"), headers.get("X-Sync-Batch")
    if run_id is None and number is None:
        return None
    try:
        run_id = str(uuid.UUID(run_id or ""))
    except ValueError:
        raise ApiError(400, "bad_request", "X-Sync-Run must be a run id, sent with X-Sync-Batch.") from None
    if number is None or not BATCH_NUMBER.fullmatch(number.strip()):
        raise ApiError(400, "bad_request", "X-Sync-Batch must be a batch number (1, 2, 3...), sent with X-Sync-Run.")
    return db.RunBatch(run_id, int(number))


def valid_id(value):
    """value, if a valid WooCommerce id; else None."""
    return value if type(value) is int and 0 < value <= MAX_BIGINT else None


def carried_ids(errors):
    """The valid WooCommerce ids of the records skipped here: a run counts them as carried."""
    return [error["id"] for error in errors if valid_id(error["id"])]


def sync_failed(entity, store_id, result, fields=None):
    """The 500 of a batch that failed and was rolled back, logged (with fields, for structured
    logs). The reason is in sync_logs.error_message only: PostgreSQL's text may quote data."""
    log.error(
        "%s sync %s of store %s failed and was rolled back",
        entity.name,
        result.sync_log_id,
        store_id,
        extra=fields,
    )
    return ApiError(
        500,
        "sync_failed",
        f"The batch could not be stored and nothing of it was kept (sync log {result.sync_log_id}).",
        sync_log_id=result.sync_log_id,
    )


def describe_skip(error):
    # The id only when it is a number: a string could be anything, an email too.
    wc_id = error["id"] if isinstance(error["id"], int) else None
    return f"index={error['index']} id={wc_id} reason={error['reason']}"


class BodyHandler(JsonHandler):
    """A route taking a body of up to max_body_bytes, its size checked as it arrives. Once
    accepted, the request is in flight until answered: a graceful shutdown waits for it."""

    def initialize(self):
        self.body = None  # a BodyBuffer while the body arrives
        self.received = 0  # bytes on the wire, gzipped or not

    def accept_body(self, gzipped):
        self.body = BodyBuffer(self.config.max_body_bytes, gzipped)
        if int(self.request.headers.get("Content-Length", 0)) > self.lingering_limit():
            raise self.too_large_error()
        self.application.in_flight.add(self)

    def lingering_limit(self):
        """How much of a body is read at most: past max_body_bytes, only so that the client reads the 413."""
        return self.config.max_body_bytes + self.config.linger_bytes

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
        return ApiError(413, "payload_too_large", f"The request body exceeds {self.config.max_body_bytes} bytes.")

    def raw_body(self):
        """The whole body, gunzipped; 413 when over the limit, 400 when its gzip is broken."""
        buffer, self.body = self.body, None
        if buffer.over:
            raise self.too_large_error()
        try:
            return buffer.take()
        except ValueError as exc:
            raise ApiError(400, "bad_request", str(exc)) from None


class SyncHandler(BodyHandler):
    """POST /api/sync/<entity>: {"<entity>": [records]} -> counts and skipped records.

    Headers are checked before a byte of the body is read, and the body's
    size as it arrives.
    """

    def initialize(self, entity):
        super().initialize()
        self.slot = None  # a db.Slot from take_slot(), until the batch is answered
        self.entity = entity
        self.route = f"/api/sync/{entity.name}"

    async def prepare(self):
        super().prepare()
        await self.authenticate()
        if self.request.method != "POST":
            raise tornado.web.HTTPError(405)
        self.run = run_batch(self.request.headers)
        self.accept_body(self.gzipped())
        await self.take_slot()

    async def take_slot(self):
        """One of the store's in-flight slots, with the connection the batch will run on, held
        until it is answered (or gone); 429 when the store has STORE_IN_FLIGHT batches in flight
        already. Taken before a byte of the body is read."""
        limit = self.config.store_in_flight
        self.slot = await self.database(db.take_slot(self.pool, self.store_id, limit))
        if self.slot is None:
            raise ApiError(
                429,
                "too_many_requests",
                f"This store has {limit} batch(es) in flight already, the most it may have; retry "
                f"once one is answered.",
                {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
            )

    def release_slot(self):
        """Gives the slot back, in a task of its own (for on_finish and on_connection_close)."""
        slot, self.slot = self.slot, None
        if slot is not None:
            task = asyncio.ensure_future(slot.release())
            RELEASING.add(task)
            task.add_done_callback(RELEASING.discard)

    def on_finish(self):
        super().on_finish()
        self.release_slot()

    def on_connection_close(self):
        reading = self.body is not None  # gone while its body arrived: post() never runs
        super().on_connection_close()
        if reading:
            self.release_slot()

    def records(self):
        """The batch's records, or a 400/413 saying what is wrong with the body."""
        raw = self.raw_body()
        if not is_utf8(raw):  # JSON's one encoding (RFC 8259); json.loads would guess others
            raise ApiError(400, "invalid_json", "The request body is not valid JSON: it is not UTF-8.")
        name, limit = self.entity.name, self.config.max_batch_records
        try:
            body = parse_batch(raw, self.entity, limit)
        except TooManyItems:
            raise ApiError(
                413, "batch_too_large", f"A batch holds at most {limit} records; this one has more."
            ) from None
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}") from None
        except ArithmeticError:  # Decimal refuses an exponent as large as 1e99999999999999999999
            raise ApiError(400, "invalid_json", "The request body holds a number out of any range.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", f'The request body must be a JSON object: {{"{name}": [...]}}.')
        if name not in body:
            raise ApiError(400, "bad_request", f"The '{name}' field is required.")
        records = body[name]
        if not isinstance(records, list):
            raise ApiError(400, "bad_request", f"The '{name}' field must be an array.")
        if len(records) > limit:
            raise ApiError(
                413,
                "batch_too_large",
                f"A batch holds at most {limit} records; this one has {len(records)}.",
            )
        return records

    async def post(self):
        try:
            await self.sync()
        finally:  # before the answer, so that the store's next batch finds the slot free
            slot, self.slot = self.slot, None
            if slot is not None:
                await slot.release()

    async def sync(self):
        started = time.perf_counter()
        records = self.records()
        batch = await validate_batch_yielding(self.entity, records)
        received = len(records)
        del records  # the parsed batch is not kept in memory while the database works
        result = await self.database(
            db.sync_batch(
                self.pool,
                self.store_id,
                self.entity,
                batch.records_json,
                received,
                self.run,
                carried_ids(batch.errors),
                self.slot,
            )
        )
        seconds = time.perf_counter() - started
        self.application.metrics.batch(self.entity.name, seconds, result)
        fields = {
            "store_id": self.store_id,
            "entity": self.entity.name,
            "sync_log_id": str(result.sync_log_id),
            "sync_status": result.status,
            "duration_ms": round(seconds * 1000, 1),
        }
        if result.status != "completed":
            raise sync_failed(self.entity, self.store_id, result, fields)
        fields.update(
            received=received,
            synced=result.synced_count,
            unchanged=result.unchanged_count,
            skipped=result.skipped_count,
        )
        log.info(
            "%s batch of store %s: %d synced, %d unchanged, %d skipped in %.1fms",
            self.entity.name,
            self.store_id,
            result.synced_count,
            result.unchanged_count,
            result.skipped_count,
            fields["duration_ms"],
            extra=fields,
        )
        # result.errors is None when the batch's answer was lost with its connection, after it
        # committed: its counts come from its sync log, and the SQL function's skips are unknown.
        errors = merge_errors(batch, result.errors or [])
        if errors:
            log.warning(
                "skipped %d of %d %s record(s): store=%s sync_log=%s first: %s",
                len(errors),
                received,
                self.entity.name,
                self.store_id,
                result.sync_log_id,
                "; ".join(map(describe_skip, errors[:LOGGED_SKIPS])),
                extra=fields,
            )
        limit = self.config.max_reported_errors
        self.write(
            {
                "success": True,
                "data": {
                    "syncedCount": result.synced_count,
                    "skippedCount": result.skipped_count,
                    "unchangedCount": result.unchanged_count,
                    "syncLogId": str(result.sync_log_id),
                    "errors": errors[:limit],
                    "errorsTruncated": len(errors) > limit,
                    **({"errorsUnavailable": True} if result.errors is None else {}),
                },
            }
        )

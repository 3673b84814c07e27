"""HTTP handlers: one for every sync route, one for health, one for 404."""
import asyncio
import decimal
import json
import logging

import psycopg2
import tornado.web

from . import db
from .auth import bearer_token, hash_token
from .validation import merge_errors, validate_batch

log = logging.getLogger("wcsync.http")

ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "service_unavailable",
}
RETRY_AFTER_SECONDS = 5

# What a lost, restarting or overloaded database looks like from here.
DATABASE_UNAVAILABLE = (psycopg2.OperationalError, psycopg2.InterfaceError, asyncio.TimeoutError)


class ApiError(tornado.web.HTTPError):
    """An error the client is told about, with a stable code and a clear message."""

    def __init__(self, status_code, code, message, retry_after=None):
        super().__init__(status_code)
        self.code = code
        self.message = message
        self.retry_after = retry_after


class JsonHandler(tornado.web.RequestHandler):
    @property
    def pool(self):
        return self.settings["pool"]

    @property
    def config(self):
        return self.settings["config"]

    async def database(self, awaitable):
        """Awaits a database call; an unreachable database becomes 503, any other error 500.

        Only the error's class and SQLSTATE are logged: PostgreSQL's message
        may quote the data (a record, an email).
        """
        try:
            return await awaitable
        except DATABASE_UNAVAILABLE as exc:
            log.warning("database unavailable: %s", type(exc).__name__)
            raise ApiError(
                503, "service_unavailable", "The database is unavailable; retry later.", RETRY_AFTER_SECONDS
            ) from None
        except psycopg2.Error as exc:
            log.error("database error: %s (SQLSTATE %s)", type(exc).__name__, exc.pgcode)
            raise ApiError(500, "internal_error", "Internal server error.") from None

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            code, message = exc.code, exc.message
            if exc.retry_after:
                self.set_header("Retry-After", str(exc.retry_after))
        else:  # Tornado's own errors (405, ...) and anything unexpected
            code = ERROR_CODES.get(status_code, "error")
            message = self._reason if status_code < 500 else "Internal server error."
        self.finish({"success": False, "error": {"code": code, "message": message}})


class NotFoundHandler(JsonHandler):
    def prepare(self):
        raise ApiError(404, "not_found", "No such endpoint.")


class HealthHandler(JsonHandler):
    async def get(self):
        await self.database(db.ping(self.pool))
        self.write({"success": True, "data": {"status": "ok", "database": "ok"}})


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


@tornado.web.stream_request_body
class SyncHandler(JsonHandler):
    """POST /api/sync/<entity>: {"<entity>": [records]} -> counts and skipped records.

    The body is streamed so that its size is checked before it is read.
    """

    def initialize(self, entity):
        self.entity = entity
        self.chunks = []
        self.body_size = 0

    async def prepare(self):
        self.settings["in_flight"].add(self)
        token = bearer_token(self.request.headers.get("Authorization"))
        if token is None:
            raise ApiError(401, "unauthorized", "An 'Authorization: Bearer <token>' header is required.")
        row = await self.database(db.store_for_token(self.pool, hash_token(token)))
        if row is None:
            raise ApiError(401, "unauthorized", "Unknown or revoked API token.")
        self.store_id, status = row
        if status != "active":
            raise ApiError(403, "forbidden", f"This store is {status}.")
        if self.request.method != "POST":
            return  # Tornado answers 405
        content_type = self.request.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json.")
        if int(self.request.headers.get("Content-Length", 0)) > self.config.max_body_bytes:
            self.too_large()

    def on_finish(self):
        self.settings["in_flight"].discard(self)

    def on_connection_close(self):
        if self.chunks is not None:  # gone before its body was read: post() and on_finish never run
            self.settings["in_flight"].discard(self)
            self.chunks = None

    def data_received(self, chunk):
        self.body_size += len(chunk)
        if self.chunks is not None and self.body_size <= self.config.max_body_bytes:
            self.chunks.append(chunk)

    def too_large(self):
        raise ApiError(
            413, "payload_too_large", f"The request body exceeds {self.config.max_body_bytes} bytes."
        )

    def records(self):
        """The batch's records, or a 400/413 saying what is wrong with the body."""
        if self.body_size > self.config.max_body_bytes:
            self.too_large()
        raw, self.chunks = b"".join(self.chunks), None  # one copy of the body at a time
        try:
            body = json.loads(raw, parse_constant=_reject_constant, parse_float=decimal.Decimal)  # exact money
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}") from None
        name = self.entity.name
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", f'The request body must be a JSON object: {{"{name}": [...]}}.')
        if name not in body:
            raise ApiError(400, "bad_request", f"The '{name}' field is required.")
        records = body[name]
        if not isinstance(records, list):
            raise ApiError(400, "bad_request", f"The '{name}' field must be an array.")
        if len(records) > self.config.max_batch_records:
            raise ApiError(
                413,
                "batch_too_large",
                f"A batch holds at most {self.config.max_batch_records} records; this one has {len(records)}.",
            )
        return records

    async def post(self):
        records = self.records()
        batch = validate_batch(self.entity, records)
        received = len(records)
        del records  # the parsed batch is not kept in memory while the database works
        result = await self.database(
            db.sync_batch(self.pool, self.store_id, self.entity, batch.records_json, received)
        )
        if result.status != "completed":
            # The reason is in sync_logs.error_message; PostgreSQL's text may quote data.
            log.error("%s sync %s of store %s failed and was rolled back",
                      self.entity.name, result.sync_log_id, self.store_id)
            raise ApiError(
                500, "sync_failed",
                f"The batch could not be stored and nothing of it was kept (sync log {result.sync_log_id}).",
            )
        errors = merge_errors(batch, result.errors)
        for error in errors:
            # The id only when it is a number: a string could be anything, an email too.
            wc_id = error["id"] if isinstance(error["id"], int) else None
            log.warning("skipped %s record: store=%s index=%d id=%s reason=%s",
                        self.entity.name, self.store_id, error["index"], wc_id, error["reason"])
        limit = self.config.max_reported_errors
        self.write({
            "success": True,
            "data": {
                "syncedCount": result.synced_count,
                "skippedCount": result.skipped_count,
                "unchangedCount": result.unchanged_count,
                "syncLogId": str(result.sync_log_id),
                "errors": errors[:limit],
                "errorsTruncated": len(errors) > limit,
            },
        })

"""What reaches the logs from Tornado and asyncio: never a secret or a record; and how lines are written.

A query string may hold a token (?access_token=) or an email, a header
value the token itself, and PostgreSQL's messages may quote the data.

LOG_FORMAT=text (the default) writes a line of text, LOG_FORMAT=json one JSON
object; both carry the id of the request a line is about.
"""

import contextvars
import json
import logging
import re
import sys
import traceback
import uuid
from datetime import UTC, datetime

import psycopg2

access_log = logging.getLogger("tornado.access")
log = logging.getLogger("wcsync.server")


# The id of the request whose task is running (set by JsonHandler.prepare), for every line it logs.
REQUEST_ID = contextvars.ContextVar("request_id", default=None)
# A client's X-Request-Id is kept when it is short and plain, and does not look like a token.
PLAIN_REQUEST_ID = re.compile(r"(?!wcs_)[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def request_id_of(header):
    """The client's X-Request-Id when it is plain, else a new one."""
    if header is not None and PLAIN_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def log_request(handler):
    """Tornado's access log line, with the path in place of the URI: no query string; and its count
    in the metrics. Called in the request's task, or the connection's (a 413 mid-body): the
    request id is passed as it is."""
    status = handler.get_status()
    handler.application.metrics.request(handler.route, status)
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    duration_ms = 1000.0 * request.request_time()
    access_log.log(
        level,
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        request.path,
        request.remote_ip,
        duration_ms,
        extra={
            "request_id": handler.request_id,
            "method": request.method,
            "path": request.path,
            "route": handler.route,
            "status": status,
            "duration_ms": round(duration_ms, 2),
        },
    )


def log_uncaught(request, typ, tb):
    """An unexpected error in a request: its class and where it was raised, by the method and
    path alone; not its message, which may quote what the request sent."""
    log.error(
        "uncaught %s in %s %s\n%s",
        typ.__name__,
        request.method,
        request.path,
        "".join(traceback.format_tb(tb)).rstrip(),
    )


class WithoutHeaderValues(logging.Filter):
    """Cuts Tornado's 'Malformed HTTP message' to what was wrong: it quotes the header's
    value ("Invalid header value 'Bearer wcs_...'")."""

    def filter(self, record):
        if record.msg == "Malformed HTTP message from %s: %s":
            context, error = record.args
            record.args = (context, re.split(r"[:'\"]", str(error), maxsplit=1)[0].strip())
        return True


WITHOUT_HEADER_VALUES = WithoutHeaderValues()


def keep_secrets_out_of_tornado_logs():
    # The same filter object each time: addFilter adds it once.
    logging.getLogger("tornado.general").addFilter(WITHOUT_HEADER_VALUES)


def log_loop_exception(loop, context):
    """asyncio's handler for errors nobody awaited, without PostgreSQL's text.

    aiopg reports a cancelled statement (pg_cancel_backend, statement
    timeout) here, with the server's message; the request already has its 503.
    """
    exc = context.get("exception")
    if isinstance(exc, psycopg2.Error):
        log.warning("database: %s (SQLSTATE %s)", type(exc).__name__, exc.pgcode)
    else:
        loop.default_exception_handler(context)


# The fields a line may be about (passed as logging's extra=), written by the JSON format.
FIELDS = (
    "request_id",
    "method",
    "path",
    "route",
    "store_id",
    "entity",
    "sync_log_id",
    "status",
    "sync_status",
    "received",
    "synced",
    "unchanged",
    "skipped",
    "duration_ms",
)


class WithRequestId(logging.Filter):
    """Gives a record the id of the request being served, unless it names one already."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class TextFormat(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record):
        line = super().format(record)
        return f"{line} request_id={record.request_id}" if record.request_id else line


class JsonFormat(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the fields present."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


FORMATS = {"text": TextFormat, "json": JsonFormat}


def configure(log_format, stream=sys.stderr):
    """The root logger writes INFO and above to stream, in LOG_FORMAT's format (as basicConfig:
    unless it has a handler already)."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FORMATS[log_format]())
    handler.addFilter(WithRequestId())
    logging.basicConfig(level=logging.INFO, handlers=[handler])

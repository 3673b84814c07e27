"""What reaches the logs from Tornado and asyncio: never a secret or a record.

A query string may hold a token (?access_token=) or an email, a header
value the token itself, and PostgreSQL's messages may quote the data.
"""

import logging
import re
import traceback

import psycopg2

access_log = logging.getLogger("tornado.access")
log = logging.getLogger("wcsync.server")


def log_request(handler):
    """Tornado's access log line, with the path in place of the URI: no query string."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    access_log.log(
        level,
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        request.path,
        request.remote_ip,
        1000.0 * request.request_time(),
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

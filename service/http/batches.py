"""POST /api/sync/<entity>: a batch of one entity's records, validated here and written by its SQL
function, in one of the store's in-flight slots."""

import asyncio
import logging
import re
import time
import uuid

import tornado.web

from .. import db
from ..batch.body import TooManyItems, is_utf8, parse_batch
from ..batch.checks import MAX_BIGINT
from ..batch.validation import merge_errors, validate_batch_yielding
from .base import ApiError, BodyHandler

log = logging.getLogger("wcsync.http")

# A store at its in-flight limit: one of its batches usually ends within a second.
BUSY_RETRY_AFTER_SECONDS = 1
RELEASING = set()  # the tasks releasing slots, kept from the garbage collector until done
LOGGED_SKIPS = 3  # skipped records named in the log line of a batch; the response lists more


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


def batch_failed(entity, store_id, result, fields=None):
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


class BatchHandler(BodyHandler):
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
            db.write_batch(
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
            raise batch_failed(self.entity, self.store_id, result, fields)
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

"""POST /api/webhooks/woocommerce/<store_id>: WooCommerce's own webhooks (docs/webhooks.md).

The X-WC-Webhook headers (400) and the store in the path (404) are checked
first, before a byte of the body is read. The body is read whole (within
WEBHOOK_MAX_BODY_BYTES, and the process's budget of unverified bytes), then
its signature is checked over the raw bytes, before anything of it is parsed. A delivery
whose signature holds is answered 200 whatever it carries (past five failed
deliveries WooCommerce disables the webhook), with its outcome, which
webhook_deliveries records. What it does comes from the signed body, not
from the unsigned topic alone: deleted only for a bare {"id": N}. A resource
goes through the sync routes' path as a batch of one: the same validation,
the same SQL function, a sync log.
"""

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass

import tornado.web

from .. import db
from ..batch.entities import ENTITIES
from ..batch.validation import parse_json, project, validate_batch
from .base import RETRY_AFTER_SECONDS, ApiError, BodyHandler
from .batches import batch_failed, valid_id

log = logging.getLogger("wcsync.webhooks")

# A topic is <resource>.<event>; WooCommerce has no category topic.
TOPIC_ENTITIES = {entity.webhook_resource: entity for entity in ENTITIES.values() if entity.webhook_resource}
RESOURCE_EVENTS = {"created", "updated", "restored"}
# WooCommerce's ping when a webhook is saved: this body, no X-WC-Webhook-* header, no signature.
PING = re.compile(rb"webhook_id=[0-9]+")
# Each X-WC-Webhook header's form, checked before the body is read: what WooCommerce sends
# (class-wc-webhook.php), with room to spare. The delivery id is wp_hash()'s 32 hex digits (64
# would hold a longer hash); a topic, its resource and its event fit WooCommerce's own
# varchar(200) topic column; the source is the site's URL. Past these, a value is not
# WooCommerce's, and a long delivery id or topic would fail the delivery's record after the
# change was applied (a btree index entry holds at most ~2.7 KB).
PRINTABLE = r"[ -~]"
HEADER_FORMS = {
    "X-WC-Webhook-Topic": (re.compile(PRINTABLE + "{1,200}"), "1 to 200 printable ASCII characters"),
    "X-WC-Webhook-Resource": (re.compile(PRINTABLE + "{1,200}"), "1 to 200 printable ASCII characters"),
    "X-WC-Webhook-Event": (re.compile(PRINTABLE + "{1,200}"), "1 to 200 printable ASCII characters"),
    # up to 18 digits, so always a bigint: WooCommerce's webhook ids are its table's row ids
    "X-WC-Webhook-ID": (re.compile(r"[1-9][0-9]{0,17}"), "a positive integer of at most 18 digits"),
    "X-WC-Webhook-Delivery-ID": (re.compile(r"[0-9A-Za-z_.:-]{1,64}"), "1 to 64 letters, digits or - _ . :"),
    "X-WC-Webhook-Source": (re.compile(PRINTABLE + "{1,2048}"), "a URL of at most 2048 printable ASCII characters"),
}
# At most one warning line per kind and this many seconds: a flood is one line, with its count.
WARNING_INTERVAL_S = 10.0


@dataclass
class Delivery:
    topic: str
    delivery_id: str | None
    webhook_id: int | None
    body_sha256: str
    outcome: str = ""
    reason: str | None = None
    wc_id: int | None = None
    sync_log_id: str | None = None

    @property
    def entity(self):
        """The entity the topic is about, or None for a topic the service does not store."""
        resource, _, event = self.topic.partition(".")
        return TOPIC_ENTITIES.get(resource) if event in RESOURCE_EVENTS | {"deleted"} else None


def new_secret():
    """A store's webhook secret; the prefix lets secret scanners recognise a leaked one."""
    return "wcwh_" + secrets.token_urlsafe(32)


def signature(secret, body):
    """WooCommerce's X-WC-Webhook-Signature: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())


def signed(secret, body, header):
    # Tornado decodes header values as latin-1: encoding them back gives the bytes sent.
    return hmac.compare_digest(signature(secret, body), (header or "").strip().encode("latin-1"))


def is_ping(headers, body):
    return PING.fullmatch(body) is not None and not any(name.lower().startswith("x-wc-webhook-") for name in headers)


def header_problem(headers):
    """Why an X-WC-Webhook header is not as WooCommerce sends it (naming the header, not its value), or None."""
    for name, (form, described) in HEADER_FORMS.items():
        value = headers.get(name)
        if value is not None and form.fullmatch(value) is None:
            return f"{name} must be {described}."
    return None


def holds_fields(record, entity):
    """Whether record has a field of the entity besides the id, as every resource WooCommerce
    sends (the whole of a GET of it) does, and no deletion's body does."""
    return any(name in record for name in entity.fields_read if name not in ("id", entity.id_field))


class ThrottledWarning:
    """A warning logged at most once per WARNING_INTERVAL_S, counting the occurrences it stands for."""

    def __init__(self, message):
        self.message = message
        self.unlogged = 0
        self.next_line_at = 0.0

    def warn(self, *args):
        self.unlogged += 1
        now = time.monotonic()
        if now >= self.next_line_at:
            log.warning(self.message + " (%d times since the last such line)", *args, self.unlogged)
            self.unlogged, self.next_line_at = 0, now + WARNING_INTERVAL_S


class UnverifiedBodies:
    """The bytes of webhook bodies received and not yet verified, across the process, kept within
    a budget: anyone who knows a store's delivery URL can send them, unauthenticated."""

    def __init__(self, budget, metrics):
        self.budget = budget
        self.held = 0
        self.metrics = metrics
        self.refusals = ThrottledWarning("webhook delivery refused with 503: %d bytes of unverified bodies held")
        self.abandonments = ThrottledWarning("webhook delivery abandoned by its client mid-body")

    def take(self, size):
        """Whether size more bytes fit in the budget; they are counted if so, refused (logged, counted) if not."""
        if self.held + size > self.budget:
            self.metrics.webhook_bodies_refused.inc()
            self.refusals.warn(self.held)
            return False
        self.held += size
        return True

    def give_back(self, size):
        self.held -= size

    def abandoned(self):
        self.metrics.webhook_bodies_abandoned.inc()
        self.abandonments.warn()


def not_found():
    return ApiError(404, "not_found", "No webhook endpoint for this store.")


class WooCommerceWebhookHandler(BodyHandler):
    route = "/api/webhooks/woocommerce/{store_id}"

    def initialize(self):
        super().initialize()
        self.store = None  # (store id, status, webhook secret), once prepare() found it
        self.budgeted = 0  # bytes of this body counted in the application's unverified_webhook_bodies

    async def prepare(self):
        super().prepare()
        if self.request.method != "POST":
            raise tornado.web.HTTPError(405)
        problem = header_problem(self.request.headers)
        if problem:
            raise ApiError(400, "bad_request", problem)
        # Before a byte of the body is read: a URL of no store costs one query, no memory. Tornado
        # then sends the answer and closes the connection, the body unread.
        self.store = await self.store_secret(self.path_args[0])
        if self.store is None:
            raise not_found()
        self.accept_body(gzipped=False)  # WooCommerce never compresses, and signs the bytes it sends

    def body_limit(self):
        return self.config.webhook_max_body_bytes

    def lingering_limit(self):
        # None of an over-long body is read for anyone unauthenticated: WooCommerce's bodies are far
        # smaller, and the Content-Length it sends gets the 413 before the body is read at all.
        return self.body_limit()

    def data_received(self, chunk):
        if not self.application.unverified_webhook_bodies.take(len(chunk)):
            self.release_budget()
            error = ApiError(
                503,
                "service_unavailable",
                "Too many webhook deliveries are arriving at once; retry later.",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            self.send_error(error.status_code, exc_info=(ApiError, error, None))
            return
        self.budgeted += len(chunk)
        super().data_received(chunk)

    def release_budget(self):
        self.application.unverified_webhook_bodies.give_back(self.budgeted)
        self.budgeted = 0

    def on_finish(self):
        self.release_budget()
        super().on_finish()

    def on_connection_close(self):
        if self.body is not None and not self._finished:  # not after an answer sent mid-body
            self.application.unverified_webhook_bodies.abandoned()
        self.release_budget()
        super().on_connection_close()

    async def post(self, store_id):
        body = self.raw_body()
        headers = self.request.headers
        if is_ping(headers, body):
            self.answer({"outcome": "ping"})
            return
        self.store_id = self.verified(self.store, body)
        self.release_budget()  # verified: what the budget bounds is the unauthenticated
        webhook_id = headers.get("X-WC-Webhook-ID")  # digits, if there (header_problem)
        delivery = Delivery(
            topic=headers.get("X-WC-Webhook-Topic", ""),
            delivery_id=headers.get("X-WC-Webhook-Delivery-ID"),
            webhook_id=webhook_id and int(webhook_id),
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
        await self.handle(delivery, body)
        delivery.outcome = await self.database(db.record_delivery(self.pool, self.store_id, delivery))
        # the topic as a label only when it is one the service stores: a header cannot add labels
        self.application.metrics.delivery(delivery.topic if delivery.entity else "other", delivery.outcome)
        log.log(
            logging.WARNING if delivery.outcome == "invalid" else logging.INFO,
            "webhook %s of store %s (delivery %s): %s%s",
            delivery.topic,
            self.store_id,
            delivery.delivery_id,
            delivery.outcome,
            f": {delivery.reason}" if delivery.reason else "",
        )
        self.answer(
            {
                "outcome": delivery.outcome,
                "reason": delivery.reason,
                "syncLogId": delivery.sync_log_id and str(delivery.sync_log_id),
            }
        )

    def verified(self, store, body):
        """The store's id once the body's signature holds: 401 for a signature not made with
        its secret, 403 for a suspended store."""
        if not signed(store[2], body, self.request.headers.get("X-WC-Webhook-Signature")):
            raise ApiError(
                401,
                "unauthorized",
                "The X-WC-Webhook-Signature header is missing or was not made with this store's webhook secret.",
            )
        store_id, status, _ = store
        if status != "active":
            raise ApiError(403, "forbidden", f"This store is {status}.")
        return store_id

    async def store_secret(self, store_id):
        """(store id, status, webhook secret) of the store, or None when it is unknown or has no secret."""
        if not self.config.webhook_key:  # said at start (server.serve)
            raise ApiError(
                503, "webhooks_not_configured", "This service has no WEBHOOK_KEY: it takes no webhook deliveries."
            )
        try:
            store_id = str(uuid.UUID(store_id))
        except ValueError:
            return None
        try:
            row = await self.database(db.webhook_secret(self.pool, store_id, self.config.webhook_key))
        except ApiError as error:
            if error.status_code == 500:  # pgcrypto's "Wrong key or corrupt data"
                log.error(
                    "cannot read the webhook secret of store %s: is WEBHOOK_KEY the key it was made with?", store_id
                )
            raise
        return (store_id, *row) if row and row[1] is not None else None

    def answer(self, data):
        self.write({"success": True, "data": data})

    async def handle(self, delivery, body):
        """Sets the delivery's outcome (and reason, id, sync log), applying it unless seen before."""
        if await self.database(db.delivery_seen(self.pool, self.store_id, delivery)):
            delivery.outcome, delivery.reason = "duplicate", "seen before: the same delivery id, topic and body"
            return
        entity, event = delivery.entity, delivery.topic.partition(".")[2]
        if entity is None:
            delivery.outcome, delivery.reason = "ignored", "topic not stored"
            return
        try:
            record = parse_json(body.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError included
            record = None
        if not isinstance(record, dict):
            delivery.outcome, delivery.reason = "invalid", "body: must be a JSON object"
        elif event == "deleted" and record.keys() != {"id"}:
            # The topic header is not signed, the body is: only a body WooCommerce sends for a
            # deletion (build_payload: {"id": N}, nothing else) may delete, never a resource.
            delivery.outcome, delivery.reason = "ignored", 'deleted: the body must be only {"id": N}'
        elif event == "deleted":
            await self.mark_deleted(delivery, entity, record)
        elif not holds_fields(record, entity):
            # A bare id (a deletion's body, resent under another topic) is no resource to store.
            delivery.outcome, delivery.reason = (
                "ignored",
                f"{event}: the body holds no {entity.webhook_resource} field besides its id",
            )
        elif record.get("type") == "variation":
            # WooCommerce's product listing, which full sync runs send, has no variations either.
            delivery.outcome, delivery.reason = "ignored", "a variation is not stored (its parent product is)"
        else:
            await self.upsert(delivery, entity, record)

    async def mark_deleted(self, delivery, entity, record):
        delivery.wc_id = valid_id(record.get("id"))
        if delivery.wc_id is None:
            delivery.outcome, delivery.reason = "invalid", "id: must be a positive integer"
            return
        found = await self.database(db.mark_deleted(self.pool, self.store_id, entity, delivery.wc_id))
        delivery.outcome, delivery.reason = "deleted", None if found else "not stored: nothing to mark"

    async def upsert(self, delivery, entity, record):
        """The resource as a batch of one, through the sync routes' validation and SQL function."""
        delivery.wc_id = valid_id(project(record, entity).get(entity.id_field))
        batch = validate_batch(entity, [record])
        if batch.errors:
            delivery.outcome, delivery.reason = "invalid", batch.errors[0]["reason"]
            return
        result = await self.database(db.write_batch(self.pool, self.store_id, entity, batch.records_json, 1))
        if result.status != "completed":
            raise batch_failed(entity, self.store_id, result)
        delivery.sync_log_id = result.sync_log_id
        if result.errors:  # the SQL function's own checks: only if the two layers drift apart
            delivery.outcome, delivery.reason = "invalid", result.errors[0]["reason"]
        elif result.unchanged_count:
            delivery.outcome, delivery.reason = "unchanged", "older than the stored row"
        else:
            delivery.outcome = "applied"


ROUTES = [(r"/api/webhooks/woocommerce/([^/]+)", WooCommerceWebhookHandler)]

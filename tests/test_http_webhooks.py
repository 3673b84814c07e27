"""WooCommerce's own webhooks over real HTTP and PostgreSQL, sent as WooCommerce sends them.

Each delivery is signed here as class-wc-webhook.php signs it (base64 of
HMAC-SHA256 over the raw body), with its header set and its body as
wp_json_encode writes it (slashes escaped); the ping is its form-encoded
`webhook_id=N` without X-WC headers or signature.
"""

import asyncio
import copy
import hashlib
import json
import logging
import uuid

import pytest
from conftest import WEBHOOK_KEY
from prometheus_client.parser import text_string_to_metric_families
from psycopg2 import sql

from service.batch.entities import ENTITIES

from http_helpers import assert_error, nothing_written, signature, wc_json
from order_cases import V3_ORDER
from raw_http import head
from sql_helpers import columns_holding, rows, sync_logs
from woocommerce_store import Store

WC = Store(orders=1)
PRODUCT, CUSTOMER, ORDER = WC.products[0], WC.customers[0], V3_ORDER
RESOURCES = {"products": ("product", PRODUCT), "customers": ("customer", CUSTOMER), "orders": ("order", ORDER)}
# Columns that differ between two stores holding the same data.
OWN_COLUMNS = {"store_id", "id", "synced_at", "product_id", "order_id", "customer_id", "category_id"}


def newer(resource, modified):
    return {**copy.deepcopy(resource), "date_modified_gmt": modified}


def outcome(response):
    assert response.code == 200, response.body
    body = json.loads(response.body)
    assert body["success"] is True
    return body["data"]


def deliveries(query, store_id):
    return query(
        "SELECT delivery_id, topic, outcome, reason, wc_id, sync_log_id FROM webhook_deliveries "
        "WHERE store_id = %s ORDER BY received_at",
        (store_id,),
    )


def comparable(query, table, store_id):
    """The store's rows of table without the columns that differ between stores."""
    return [{k: v for k, v in row.items() if k not in OWN_COLUMNS} for row in rows(query, table, store_id, "1")]


def deleted(query, entity, wc_id, store_id):
    [row] = query(
        sql.SQL("SELECT deleted_at IS NOT NULL AS deleted FROM {} WHERE store_id = %s AND {} = %s").format(
            sql.Identifier(entity), sql.Identifier(ENTITIES[entity].id_field)
        ),
        (store_id, wc_id),
    )
    return row["deleted"]


@pytest.mark.gen_test
async def test_the_ping_gets_200_and_changes_nothing(post, webhook_store, query):
    store, _ = webhook_store()
    ping = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/8.5.1 Hookshot"}
    response = await post(f"/api/webhooks/woocommerce/{store.id}", "webhook_id=7", headers=ping)
    assert outcome(response) == {"outcome": "ping"}
    nothing_written(query, store.id)
    assert deliveries(query, store.id) == []
    # A URL of no store fails the ping: WooCommerce then refuses to activate the webhook.
    response = await post(f"/api/webhooks/woocommerce/{uuid.uuid4()}", "webhook_id=7", headers=ping)
    assert_error(response, 404, "not_found")


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
async def test_each_topic_produces_the_rows_a_batch_would(entity, deliver, post, webhook_store, query, caplog):
    caplog.set_level(logging.INFO)
    (store, secret), (other, _) = webhook_store(), webhook_store()
    resource_name, resource = RESOURCES[entity]
    data = outcome(await deliver(store.id, secret, f"{resource_name}.created", resource))
    assert data["outcome"] == "applied" and data["reason"] is None
    assert outcome(await post(f"/api/sync/{entity}", {entity: [resource]}, other.token))["syncedCount"] == 1
    assert comparable(query, entity, store.id) == comparable(query, entity, other.id) != []
    if entity == "orders":
        assert comparable(query, "order_items", store.id) == comparable(query, "order_items", other.id) != []
    [log] = sync_logs(query, store.id)
    assert (log["entity_type"], log["status"], log["records_received"], log["records_synced"]) == (
        entity,
        "completed",
        1,
        1,
    )
    assert deliveries(query, store.id) == [
        {
            "delivery_id": deliveries(query, store.id)[0]["delivery_id"],
            "topic": f"{resource_name}.created",
            "outcome": "applied",
            "reason": None,
            "wc_id": resource["id"],
            "sync_log_id": log["id"],
        }
    ]
    assert str(log["id"]) == data["syncLogId"]
    assert secret not in caplog.text and f"{resource_name}.created" in caplog.text


@pytest.mark.gen_test
async def test_a_delivery_keeps_no_body_and_no_plain_email(deliver, webhook_store, query):
    store, secret = webhook_store()
    email, phone = f"{uuid.uuid4().hex}@example.com", f"+1 555 {uuid.uuid4().int % 10**7:07d}"
    customer = {**CUSTOMER, "email": email, "billing": {**CUSTOMER["billing"], "email": email, "phone": phone}}
    assert outcome(await deliver(store.id, secret, "customer.created", customer))["outcome"] == "applied"
    assert columns_holding(query, [email, phone]) == []
    [row] = query("SELECT body_sha256 FROM webhook_deliveries WHERE store_id = %s", (store.id,))
    assert row["body_sha256"] == hashlib.sha256(wc_json(customer)).hexdigest()


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
async def test_updated_and_an_older_delivery_after_it(entity, deliver, webhook_store, query):
    store, secret = webhook_store()
    resource_name, resource = RESOURCES[entity]
    value = {"products": "name", "customers": "first_name", "orders": "status"}[entity]
    newest = {**newer(resource, "2026-03-01T00:00:00"), value: "completed" if entity == "orders" else "March"}
    assert outcome(await deliver(store.id, secret, f"{resource_name}.updated", newest))["outcome"] == "applied"
    older = {**newer(resource, "2026-02-01T00:00:00"), value: "cancelled" if entity == "orders" else "February"}
    data = outcome(await deliver(store.id, secret, f"{resource_name}.updated", older))
    assert (data["outcome"], data["reason"]) == ("unchanged", "older than the stored row")
    [row] = rows(query, entity, store.id)
    assert row["updated_at"].isoformat() == "2026-03-01T00:00:00+00:00"
    assert [log["records_unchanged"] for log in sync_logs(query, store.id)] == [0, 1]


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "header",
    [None, "", "not base64", "c2lnbmVk", signature("a guessed secret", wc_json(PRODUCT))],
    ids=["missing", "empty", "garbage", "wrong", "other-secret"],
)
async def test_a_bad_signature_is_401_and_touches_nothing(header, deliver, webhook_store, query):
    store, secret = webhook_store()
    if header == "":
        header = " "
    response = await deliver(store.id, secret, "product.created", PRODUCT, signature_header=header)
    message = assert_error(response, 401, "unauthorized")
    assert secret not in message
    nothing_written(query, store.id)
    assert deliveries(query, store.id) == []


@pytest.mark.gen_test
async def test_the_signature_covers_the_raw_bytes(deliver, webhook_store, query):
    """The same JSON re-encoded (WooCommerce's `\\/` written as `/`) no longer matches."""
    store, secret = webhook_store()
    body = wc_json(PRODUCT)
    assert b"\\/" in wc_json({"url": "https://shop.example/p"})
    response = await deliver(
        store.id, secret, "product.created", body=body + b" ", signature_header=signature(secret, body)
    )
    assert_error(response, 401, "unauthorized")
    nothing_written(query, store.id)


@pytest.mark.gen_test
async def test_another_stores_valid_signature_is_401_and_touches_neither(deliver, webhook_store, query):
    (store, secret), (other, other_secret) = webhook_store(), webhook_store()
    body = wc_json(PRODUCT)
    # Signed with this store's secret: accepted at its own URL, refused at the other's.
    response = await deliver(
        other.id, other_secret, "product.created", body=body, signature_header=signature(secret, body)
    )
    assert_error(response, 401, "unauthorized")
    assert outcome(await deliver(store.id, secret, "product.created", body=body))["outcome"] == "applied"
    nothing_written(query, other.id)
    assert deliveries(query, other.id) == []


@pytest.mark.gen_test
async def test_a_delivery_touches_only_its_own_stores_rows(deliver, webhook_store, query):
    (store, secret), (other, other_secret) = webhook_store(), webhook_store()
    for target, key in ((store, secret), (other, other_secret)):
        assert outcome(await deliver(target.id, key, "product.created", PRODUCT))["outcome"] == "applied"
    assert outcome(await deliver(store.id, secret, "product.deleted", {"id": PRODUCT["id"]}))["outcome"] == "deleted"
    renamed = {**newer(PRODUCT, "2026-05-01T00:00:00"), "name": "Renamed"}
    assert outcome(await deliver(store.id, secret, "product.restored", renamed))["outcome"] == "applied"
    assert deleted(query, "products", PRODUCT["id"], other.id) is False
    assert [row["name"] for row in rows(query, "products", other.id)] == [PRODUCT["name"]]
    assert [row["name"] for row in rows(query, "products", store.id)] == ["Renamed"]
    assert len(deliveries(query, other.id)) == 1 and len(sync_logs(query, other.id)) == 1


@pytest.mark.gen_test
async def test_an_unknown_store_is_404_before_the_body_is_read(deliver, post, make_store, query):
    without_secret = make_store()
    for store_id in (str(uuid.uuid4()), "not-a-store", without_secret.id):
        response = await deliver(store_id, "any", "product.created", PRODUCT)
        assert_error(response, 404, "not_found")
    nothing_written(query, without_secret.id)
    response = await post(f"/api/webhooks/woocommerce/{without_secret.id}", "webhook_id=3", headers={})
    assert_error(response, 404, "not_found")


@pytest.mark.gen_test
async def test_a_replayed_delivery_is_a_duplicate_and_changes_nothing(deliver, webhook_store, query):
    store, secret = webhook_store()
    first = outcome(await deliver(store.id, secret, "customer.updated", CUSTOMER, delivery_id="d" * 32))
    synced_at = rows(query, "customers", store.id)[0]["synced_at"]
    again = outcome(await deliver(store.id, secret, "customer.updated", CUSTOMER, delivery_id="d" * 32))
    assert (first["outcome"], again["outcome"], again["syncLogId"]) == ("applied", "duplicate", None)
    assert rows(query, "customers", store.id)[0]["synced_at"] == synced_at
    assert len(sync_logs(query, store.id)) == 1
    assert [row["outcome"] for row in deliveries(query, store.id)] == ["applied", "duplicate"]
    # The same body under another delivery id is a new delivery: applied (and unchanged in effect).
    third = outcome(await deliver(store.id, secret, "customer.updated", CUSTOMER, delivery_id="e" * 32))
    assert third["outcome"] == "applied"


@pytest.mark.gen_test
async def test_one_delivery_id_for_two_changes_in_a_second_applies_both(deliver, webhook_store, query):
    """WooCommerce's delivery id is wp_hash(webhook_id . time()): a bulk edit shares it."""
    store, secret = webhook_store()
    second = {**copy.deepcopy(WC.products[1])}
    for product in (PRODUCT, second):
        data = outcome(await deliver(store.id, secret, "product.updated", product, delivery_id="f" * 32))
        assert data["outcome"] == "applied"
    assert {row["wc_product_id"] for row in rows(query, "products", store.id)} == {PRODUCT["id"], second["id"]}
    assert [row["outcome"] for row in deliveries(query, store.id)] == ["applied", "applied"]


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
async def test_deleted_then_an_older_delivery_then_restored(entity, deliver, webhook_store, query):
    store, secret = webhook_store()
    resource_name, resource = RESOURCES[entity]
    current = newer(resource, "2026-03-01T00:00:00")
    assert outcome(await deliver(store.id, secret, f"{resource_name}.created", current))["outcome"] == "applied"
    data = outcome(await deliver(store.id, secret, f"{resource_name}.deleted", {"id": resource["id"]}))
    assert (data["outcome"], data["reason"]) == ("deleted", None)
    assert deleted(query, entity, resource["id"], store.id) is True
    assert len(rows(query, entity, store.id)) == 1  # soft: nothing removed
    # A late delivery of an older version does not bring it back.
    late = newer(resource, "2026-02-01T00:00:00")
    assert outcome(await deliver(store.id, secret, f"{resource_name}.updated", late))["outcome"] == "unchanged"
    assert deleted(query, entity, resource["id"], store.id) is True
    # Restoring changes date_modified in WooCommerce: a newer version, live again.
    event = "updated" if entity == "customers" else "restored"  # customers have no restored topic
    restored = newer(resource, "2026-04-01T00:00:00")
    assert outcome(await deliver(store.id, secret, f"{resource_name}.{event}", restored))["outcome"] == "applied"
    assert deleted(query, entity, resource["id"], store.id) is False
    # A delete of a row the store does not have is recorded, and marks nothing.
    data = outcome(await deliver(store.id, secret, f"{resource_name}.deleted", {"id": 424242}))
    assert (data["outcome"], data["reason"]) == ("deleted", "not stored: nothing to mark")


@pytest.mark.gen_test
async def test_a_run_still_revives_a_row_a_run_deleted_with_any_record(deliver, post, webhook_store, query):
    """Only a webhook's delete asks for a newer record; a full sync run's mark goes as before."""
    store, secret = webhook_store()
    assert outcome(await deliver(store.id, secret, "product.created", newer(PRODUCT, "2026-03-01T00:00:00")))
    query("UPDATE products SET deleted_at = now() WHERE store_id = %s", (store.id,))  # as a sweep marks
    older = newer(PRODUCT, "2026-01-01T00:00:00")
    assert outcome(await deliver(store.id, secret, "product.updated", older))["outcome"] == "applied"
    assert deleted(query, "products", PRODUCT["id"], store.id) is False


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "topic, body",
    [
        ("coupon.created", {"id": 5, "code": "SAVE10"}),
        ("action.woocommerce_add_to_cart", {"action": "woocommerce_add_to_cart", "arg": "x"}),
        ("product.exported", {"id": 5}),
        ("category.created", {"id": 5, "name": "Hats"}),
    ],
)
async def test_a_topic_not_stored_is_200_with_the_reason_and_recorded(topic, body, deliver, webhook_store, query):
    store, secret = webhook_store()
    data = outcome(await deliver(store.id, secret, topic, body))
    assert data == {"outcome": "ignored", "reason": "topic not stored", "syncLogId": None}
    nothing_written(query, store.id)
    assert [(row["topic"], row["outcome"]) for row in deliveries(query, store.id)] == [(topic, "ignored")]


@pytest.mark.gen_test
async def test_a_variation_is_ignored_with_the_reason(deliver, webhook_store, query):
    store, secret = webhook_store()
    variation = {**PRODUCT, "id": 777, "parent_id": PRODUCT["id"], "type": "variation", "name": "Item 1 - Red"}
    data = outcome(await deliver(store.id, secret, "product.updated", variation))
    assert (data["outcome"], data["reason"]) == ("ignored", "a variation is not stored (its parent product is)")
    nothing_written(query, store.id)


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "topic, body, reason",
    [
        ("product.created", wc_json({**PRODUCT, "name": ""}), "name: "),
        ("product.updated", wc_json({**PRODUCT, "price": "-3"}), "price: "),
        ("order.created", wc_json({**ORDER, "line_items": [{"quantity": 1}]}), "line_items: item 0: product_id: "),
        ("customer.updated", b"{not json", "body: must be a JSON object"),
        ("customer.updated", b"[1, 2]", "body: must be a JSON object"),
        ("order.deleted", wc_json({"id": "12"}), "id: must be a positive integer"),
    ],
)
async def test_an_invalid_resource_is_200_with_the_reason_and_recorded(
    topic, body, reason, deliver, webhook_store, query, caplog
):
    store, secret = webhook_store()
    data = outcome(await deliver(store.id, secret, topic, body=body))
    assert data["outcome"] == "invalid" and data["reason"].startswith(reason)
    nothing_written(query, store.id)
    [row] = deliveries(query, store.id)
    assert (row["outcome"], row["reason"]) == ("invalid", data["reason"])
    assert data["reason"] in caplog.text


@pytest.mark.gen_test
async def test_a_suspended_stores_deliveries_are_403(deliver, webhook_store, query):
    store, secret = webhook_store()
    query("SELECT set_store_status(%s, 'suspended')", (store.id,))
    assert_error(await deliver(store.id, secret, "product.created", PRODUCT), 403, "forbidden")
    nothing_written(query, store.id)


@pytest.mark.gen_test
@pytest.mark.parametrize("config", [{"webhook_key": ""}], indirect=True)
async def test_without_webhook_key_deliveries_and_the_ping_are_a_503_saying_so(deliver, post, webhook_store, query):
    store, secret = webhook_store()
    message = assert_error(await deliver(store.id, secret, "product.created", PRODUCT), 503, "webhooks_not_configured")
    assert "WEBHOOK_KEY" in message
    ping = await post(
        f"/api/webhooks/woocommerce/{store.id}",
        b"webhook_id=7",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(ping, 503, "webhooks_not_configured")
    nothing_written(query, store.id)


@pytest.mark.gen_test
@pytest.mark.parametrize("config", [{"webhook_key": "another key"}], indirect=True)
async def test_a_wrong_webhook_key_is_a_500_that_leaks_nothing(deliver, webhook_store, query, caplog):
    store, secret = webhook_store()
    message = assert_error(await deliver(store.id, secret, "product.created", PRODUCT), 500, "internal_error")
    assert message == "Internal server error."
    assert "is WEBHOOK_KEY the key it was made with?" in caplog.text and secret not in caplog.text
    nothing_written(query, store.id)


@pytest.mark.gen_test
async def test_only_post_is_allowed(http_client, base_url, webhook_store):
    store, _ = webhook_store()
    response = await http_client.fetch(f"{base_url}/api/webhooks/woocommerce/{store.id}", raise_error=False)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"


@pytest.mark.gen_test
async def test_the_operators_listing_of_deliveries(deliver, webhook_store, query):
    """docs/webhooks.md's query: the last deliveries of a store."""
    store, secret = webhook_store()
    await deliver(store.id, secret, "product.created", PRODUCT)
    await deliver(store.id, secret, "coupon.created", {"id": 1})
    listed = query(
        "SELECT received_at, topic, outcome, reason, wc_id, sync_log_id FROM webhook_deliveries "
        "WHERE store_id = %s ORDER BY received_at DESC LIMIT 20",
        (store.id,),
    )
    assert [(row["topic"], row["outcome"]) for row in listed] == [
        ("coupon.created", "ignored"),
        ("product.created", "applied"),
    ]


def test_the_secret_is_stored_encrypted(webhook_store, query):
    store, secret = webhook_store()
    assert columns_holding(query, [secret]) == []
    [row] = query("SELECT status, secret FROM webhook_secret(%s, %s)", (store.id, WEBHOOK_KEY))
    assert row == {"status": "active", "secret": secret}


@pytest.mark.parametrize("entity", ["products", "customers", "categories", "orders"])
def test_mark_deleted_is_store_scoped_for_every_entity(entity, make_store, sync_sql, query):
    store, other = make_store(), make_store()
    record = {
        "products": {"id": 1, "name": "x"},
        "customers": {"id": 1},
        "categories": {"id": 1, "name": "x"},
        "orders": {"id": 1, "status": "processing"},
    }[entity]
    for target in (store, other):
        sync_sql(entity, target.id, [record])
    assert query("SELECT mark_deleted(%s, %s, 1) AS found", (store.id, entity)) == [{"found": True}]
    assert query("SELECT mark_deleted(%s, %s, 2) AS found", (store.id, entity)) == [{"found": False}]
    assert deleted(query, entity, 1, store.id) is True
    assert deleted(query, entity, 1, other.id) is False


@pytest.mark.gen_test
async def test_deliveries_are_counted_by_topic_and_outcome_and_no_header_adds_a_label(
    deliver, webhook_store, http_client, base_url
):
    async def counts():
        response = await http_client.fetch(base_url + "/metrics")
        return {
            tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.body.decode())
            for sample in family.samples
            if sample.name == "wcsync_webhook_deliveries_total"
        }

    store, secret = webhook_store()
    before = await counts()
    outcome(await deliver(store.id, secret, "product.updated", {"id": 5, "name": "Hat"}))
    outcome(await deliver(store.id, secret, "made.up.topic-xyz", {"id": 5}))
    after = await counts()
    moved = {labels: value - before.get(labels, 0) for labels, value in after.items() if value != before.get(labels, 0)}
    assert moved == {
        (("outcome", "applied"), ("topic", "product.updated")): 1,
        (("outcome", "ignored"), ("topic", "other")): 1,
    }


# --- What a delivery does comes from its signed body, not from its headers ---


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
@pytest.mark.parametrize("shape", ["resource", "id-and-more"])
async def test_a_signed_resource_resent_as_deleted_is_ignored_and_deletes_nothing(
    entity, shape, deliver, webhook_store, query
):
    store, secret = webhook_store()
    resource_name, resource = RESOURCES[entity]
    body = wc_json(resource) if shape == "resource" else wc_json({"id": resource["id"], "status": "trash"})
    assert outcome(await deliver(store.id, secret, f"{resource_name}.updated", resource))["outcome"] == "applied"
    # A captured body and its signature, under another topic and a new delivery id.
    data = outcome(await deliver(store.id, secret, f"{resource_name}.deleted", body=body))
    assert data == {"outcome": "ignored", "reason": 'deleted: the body must be only {"id": N}', "syncLogId": None}
    assert deleted(query, entity, resource["id"], store.id) is False
    assert [(row["topic"], row["outcome"], row["reason"]) for row in deliveries(query, store.id)][1:] == [
        (f"{resource_name}.deleted", "ignored", data["reason"])
    ]


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
async def test_a_replay_under_another_topic_first_does_not_make_the_genuine_delivery_a_duplicate(
    entity, deliver, webhook_store, query
):
    """Seen before means the same delivery id, topic and body: a captured body resent under
    another topic before the genuine delivery arrives is ignored, and the genuine one applies."""
    store, secret = webhook_store()
    resource_name, resource = RESOURCES[entity]
    delivery_id = "d" * 32
    replay = outcome(await deliver(store.id, secret, f"{resource_name}.deleted", resource, delivery_id=delivery_id))
    assert replay["outcome"] == "ignored"
    genuine = outcome(await deliver(store.id, secret, f"{resource_name}.updated", resource, delivery_id=delivery_id))
    assert genuine["outcome"] == "applied"
    again = outcome(await deliver(store.id, secret, f"{resource_name}.updated", resource, delivery_id=delivery_id))
    assert again["outcome"] == "duplicate"
    assert len(rows(query, entity, store.id)) == 1 and deleted(query, entity, resource["id"], store.id) is False


@pytest.mark.gen_test
@pytest.mark.parametrize("entity", RESOURCES)
@pytest.mark.parametrize("body", [{"id": 5}, {"id": 5, "not_a_field": "x"}], ids=["bare-id", "no-field"])
async def test_a_signed_bare_id_resent_as_a_resource_is_ignored_and_stores_nothing(
    entity, body, deliver, webhook_store, query
):
    store, secret = webhook_store()
    resource_name, _ = RESOURCES[entity]
    events = ["created", "updated"] + (["restored"] if entity != "customers" else [])
    for event in events:
        data = outcome(await deliver(store.id, secret, f"{resource_name}.{event}", body))
        reason = f"{event}: the body holds no {resource_name} field besides its id"
        assert data == {"outcome": "ignored", "reason": reason, "syncLogId": None}
    nothing_written(query, store.id)
    assert [row["outcome"] for row in deliveries(query, store.id)] == ["ignored"] * len(events)


@pytest.mark.gen_test
async def test_a_bare_id_resent_as_restored_does_not_bring_a_deleted_row_back(deliver, webhook_store, query):
    store, secret = webhook_store()
    assert outcome(await deliver(store.id, secret, "product.created", PRODUCT))["outcome"] == "applied"
    bare = {"id": PRODUCT["id"]}
    assert outcome(await deliver(store.id, secret, "product.deleted", bare))["outcome"] == "deleted"
    assert outcome(await deliver(store.id, secret, "product.restored", bare))["outcome"] == "ignored"
    assert deleted(query, "products", PRODUCT["id"], store.id) is True
    assert len(sync_logs(query, store.id)) == 1


# --- Headers are bounded before the body is read ---


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "header, value",
    [
        ("X-WC-Webhook-Delivery-ID", "a" * 65),
        ("X-WC-Webhook-Delivery-ID", "a" * 10_000),
        ("X-WC-Webhook-Delivery-ID", "d41d8cd9 8f00"),
        ("X-WC-Webhook-Delivery-ID", "d41d8cd9é"),
        ("X-WC-Webhook-Topic", "product.updated" + "x" * 190),
        ("X-WC-Webhook-Topic", "product.updatéd"),
        ("X-WC-Webhook-Resource", "p" * 201),
        ("X-WC-Webhook-Event", "e" * 201),
        ("X-WC-Webhook-ID", "0"),
        ("X-WC-Webhook-ID", "-7"),
        ("X-WC-Webhook-ID", "1" * 19),
        ("X-WC-Webhook-Source", "https://shop.example/" + "x" * 2048),
    ],
)
async def test_a_header_not_as_woocommerce_sends_it_is_400_before_anything(
    header, value, deliver, post, webhook_store, query
):
    store, secret = webhook_store()
    body = wc_json({"id": PRODUCT["id"]})
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": "product.deleted",
        "X-WC-Webhook-Signature": signature(secret, body),
        header: value,
    }
    assert outcome(await deliver(store.id, secret, "product.created", PRODUCT))["outcome"] == "applied"
    response = await post(f"/api/webhooks/woocommerce/{store.id}", body, headers=headers)
    message = assert_error(response, 400, "bad_request")
    assert message.startswith(f"{header} must be") and value not in message
    assert deleted(query, "products", PRODUCT["id"], store.id) is False
    assert len(deliveries(query, store.id)) == 1
    # Refused before the store is looked up: the same for a URL of no store.
    response = await post(f"/api/webhooks/woocommerce/{uuid.uuid4()}", body, headers=headers)
    assert_error(response, 400, "bad_request")


@pytest.mark.gen_test
async def test_the_longest_headers_woocommerce_could_send_are_taken(deliver, post, webhook_store, query):
    store, secret = webhook_store()
    body = wc_json(PRODUCT)
    topic = "action." + "a" * 193
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "action",
        "X-WC-Webhook-Event": "a" * 193,
        "X-WC-Webhook-ID": "9" * 18,
        "X-WC-Webhook-Delivery-ID": "f" * 64,
        "X-WC-Webhook-Source": "https://shop.example/" + "x" * 2027,
        "X-WC-Webhook-Signature": signature(secret, body),
    }
    data = outcome(await post(f"/api/webhooks/woocommerce/{store.id}", body, headers=headers))
    assert (data["outcome"], data["reason"]) == ("ignored", "topic not stored")
    [row] = deliveries(query, store.id)
    assert (row["delivery_id"], row["topic"]) == ("f" * 64, topic)


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "topic, body, expected",
    [
        ("product.updated", wc_json({**PRODUCT, "name": "Blue\u0000Widget"}), "invalid"),
        ("product.updated", wc_json({**PRODUCT, "sku\u0000": "x"}), "applied"),  # a key not read
        ("customer.updated", wc_json(CUSTOMER).replace(b'"id":', b'"id":\x00', 1), "invalid"),
        ("order.deleted", b'{"id": 12}\x00', "invalid"),
    ],
    ids=["escaped-in-a-value", "escaped-in-a-key", "raw-byte", "raw-byte-after-the-id"],
)
async def test_a_nul_in_the_body_is_never_a_500(topic, body, expected, deliver, webhook_store, query):
    store, secret = webhook_store()
    data = outcome(await deliver(store.id, secret, topic, body=body))
    assert data["outcome"] == expected
    [row] = deliveries(query, store.id)
    assert row["outcome"] == data["outcome"]


@pytest.mark.gen_test
@pytest.mark.parametrize("header", ["X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Topic", "X-WC-Webhook-ID"])
async def test_a_nul_in_a_header_is_never_a_500(header, http_server, http_port, webhook_store, query):
    store, secret = webhook_store()
    body = wc_json(PRODUCT)
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
        "X-WC-Webhook-Topic": "product.updated",
        "X-WC-Webhook-Signature": signature(secret, body),
        header: "a\x00b",
    }
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    writer.write(head("POST", f"/api/webhooks/woocommerce/{store.id}", headers) + body)
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 ")  # Tornado's own, before any handler: no envelope
    nothing_written(query, store.id)
    assert deliveries(query, store.id) == []

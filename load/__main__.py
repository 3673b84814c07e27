"""Load run: many stores push their whole catalogue at once; then every row is checked.

    make load                       # 50 stores, its own server and database
    LOAD_STORES=200 make load
    LOAD_URL=http://localhost:8080 LOAD_DATABASE_URL=postgresql://localhost:5432/wcsync make load
                                    # against `make run`'s server and database
    LOAD_SCENARIO=noisy make load   # one store floods, the others send small batches (below)

Each simulated store sends its categories, products, customers and orders
(1-5 line items each) in batches, in an order of its own, concurrently with
all the others, through the real HTTP server
(`python -m service serve`, started here on a free port against
LOAD_DATABASE_URL, e.g. postgresql://localhost:5432/wcsync_load; unset: a
throwaway embedded PostgreSQL, removed afterwards). The run is bounded by LOAD_SECONDS. Afterwards the
database must hold every record sent exactly once per store, and every
sync log must be completed, every order item and order must be resolved to
its product and customer; the script exits non-zero otherwise.

Each batch is sent as the plugin sends it: one answered 429 or 503 is sent
again after its Retry-After, one that got no answer (refused, reset, timed
out: its outcome unknown, and a batch is idempotent) after 1 s, LOAD_ATTEMPTS
(8) sends at most. The batches sent again are reported by reason; a batch
still not stored after them, or answered anything else but 200, has failed,
and so has the run.

LOAD_SCENARIO=noisy: the noisy neighbour. One store pushes LOAD_FLOOD_BATCH
(3,000) products a batch from LOAD_FLOOD_CONNECTIONS (12) connections, back to
back, waiting Retry-After when told to (429) and sending its body only once
the server asks for it (Expect: 100-continue, as curl does for large bodies);
LOAD_QUIET_STORES (1) others each send 10 products every 0.5 s. After
LOAD_SECONDS (30 here) it reports the quiet stores' latency beside the
flooding store's throughput, and exits non-zero on any failed batch (5xx
included) but the flooding store's given up after LOAD_ATTEMPTS 429s, its
limit doing its job, a 429 or 503 without Retry-After, or a quiet p95 of
LOAD_QUIET_P95_MS (1500) or more.
LOAD_WORKERS sets the server's WORKERS.
"""

import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field

import psycopg2
from psycopg2 import sql
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from bench.server import Server
from service.batch.entities import ENTITIES
from service.db import embedded
from service.db.migrate import migrate
from service.http.auth import hash_token, new_token

DATABASE_URL = os.environ.get("LOAD_DATABASE_URL")
STORES = int(os.environ.get("LOAD_STORES", 50))
SECONDS = float(os.environ.get("LOAD_SECONDS", 30 if os.environ.get("LOAD_SCENARIO") == "noisy" else 120))
PRODUCTS = int(os.environ.get("LOAD_PRODUCTS", 2000))
CUSTOMERS = int(os.environ.get("LOAD_CUSTOMERS", 2000))
CATEGORIES = int(os.environ.get("LOAD_CATEGORIES", 40))
ORDERS = int(os.environ.get("LOAD_ORDERS", 2000))
BATCH = int(os.environ.get("LOAD_BATCH", 500))
SERVER_URL = os.environ.get("LOAD_URL")  # unset: start a server of our own
SCENARIO = os.environ.get("LOAD_SCENARIO", "catalogues")
WORKERS = int(os.environ.get("LOAD_WORKERS", 1))
FLOOD_CONNECTIONS = int(os.environ.get("LOAD_FLOOD_CONNECTIONS", 12))
FLOOD_BATCH = int(os.environ.get("LOAD_FLOOD_BATCH", 3000))
QUIET_STORES = int(os.environ.get("LOAD_QUIET_STORES", 1))
QUIET_BATCH, QUIET_EVERY_S = 10, 0.5
QUIET_P95_MS = float(os.environ.get("LOAD_QUIET_P95_MS", 1500))
ATTEMPTS = int(os.environ.get("LOAD_ATTEMPTS", 8))  # sends of a batch at most, as the plugin's
NO_ANSWER_WAIT_S = 1
# Why a batch is sent again: refused for now (429, 503), or no answer came (Tornado's 599).
SENT_AGAIN_ON = {429: "429", 503: "503", 599: "no answer"}


@dataclass
class Store:
    id: str
    token: str
    catalogue: dict  # entity -> records
    batches: int = 0  # each once, however many sends it took
    stored: int = 0  # batches answered 200
    unanswered: int = 0  # sends that got no answer: each may have stored its batch and logged it
    failed_logs: set = field(default_factory=set)  # sync logs named by error answers (a batch failed in the database)


@dataclass
class Stats:
    latencies: list = field(default_factory=list)  # seconds from a batch's first send to its last answer
    answers: dict = field(default_factory=dict)  # status -> sends so answered (599: none came)
    batches_sent_again: int = 0  # batches sent more than once
    sent_again: dict = field(default_factory=dict)  # reason -> [seconds waited before each send again]
    failed: dict = field(default_factory=dict)  # status of the last answer -> batches not stored
    missing_retry_after: int = 0  # 429s and 503s without one

    def sent_again_summary(self):
        """'10, 12 times (503 x 9 after 2-7 s, no answer x 3 after 1 s)', or '0'."""
        reasons = [f"{reason} x {len(waits)} after {seconds_range(waits)}" for reason, waits in self.sent_again.items()]
        times = sum(len(waits) for waits in self.sent_again.values())
        return f"{self.batches_sent_again}, {times} times ({', '.join(reasons)})" if times else "0"


def seconds_range(values):
    low, high = f"{min(values):.0f}", f"{max(values):.0f}"
    return f"{low} s" if low == high else f"{low}-{high} s"


def catalogue(seed):
    """A store's data: a category tree, products in 1-3 categories, customers with emails, orders
    of 1-5 of its products by its customers or guests."""
    rng = random.Random(seed)
    categories = [
        {"id": n, "name": f"Category {n}", "slug": f"category-{n}", "parent": 0 if n <= 5 else rng.randint(1, n - 1)}
        for n in range(1, CATEGORIES + 1)
    ]
    products = [
        {
            "id": n,
            "name": f"Product {n}",
            "sku": f"SKU-{seed}-{n}",
            "price": f"{rng.uniform(1, 500):.2f}",
            "regular_price": f"{rng.uniform(1, 500):.2f}",
            "sale_price": "",
            "categories": [
                {"id": c, "name": f"Category {c}"} for c in rng.sample(range(1, CATEGORIES + 1), rng.randint(1, 3))
            ],
            "stock_quantity": rng.randint(-5, 500),
            "stock_status": "instock",
            "status": "publish",
            "type": "simple",
            "date_created_gmt": "2025-01-01T00:00:00",
            "date_modified_gmt": f"2026-01-{rng.randint(1, 28):02d}T12:00:00",
        }
        for n in range(1, PRODUCTS + 1)
    ]
    customers = [
        {
            "id": n,
            "email": f"customer{n}@store{seed}.example",
            "display_name": f"Customer {n}",
            "total_spent": round(rng.uniform(0, 5000), 2),
            "order_count": rng.randint(0, 40),
            "date_created_gmt": "2024-06-01T00:00:00",
        }
        for n in range(1, CUSTOMERS + 1)
    ]
    orders = [
        {
            "id": n,
            "status": rng.choice(["processing", "completed", "pending", "cancelled"]),
            "currency": "EUR",
            "total": f"{rng.uniform(5, 900):.2f}",
            "customer_id": rng.choice([0, rng.randint(1, CUSTOMERS)]),
            "billing": {
                "first_name": "Load",
                "last_name": f"Buyer {n}",
                "email": f"buyer{n}@store{seed}.example",
                "country": "DE",
                "phone": "+49 30 1234567",
            },
            "date_created_gmt": f"2026-01-{rng.randint(1, 28):02d}T10:00:00",
            "line_items": [
                {
                    "id": n * 10 + k,
                    "product_id": rng.randint(1, PRODUCTS),
                    "quantity": rng.randint(1, 3),
                    "total": f"{rng.uniform(1, 300):.2f}",
                    "price": round(rng.uniform(1, 100), 2),
                }
                for k in range(rng.randint(1, 5))
            ],
        }
        for n in range(1, ORDERS + 1)
    ]
    # The plugin's order is not guaranteed: products may come before categories, orders first.
    order = [("categories", categories), ("products", products), ("customers", customers), ("orders", orders)]
    rng.shuffle(order)
    return dict(order)


def create_stores(count):
    conn = psycopg2.connect(DATABASE_URL)
    conn.autocommit = True
    stores = []
    with conn.cursor() as cur:
        for n in range(count):
            token = new_token()
            cur.execute("SELECT create_store(%s, %s)", (f"Load store {n}", hash_token(token)))
            stores.append(Store(id=str(cur.fetchone()[0]), token=token, catalogue=catalogue(n)))
    conn.close()
    return stores


async def push(client, base_url, store, stats, deadline):
    for entity, records in store.catalogue.items():
        for start in range(0, len(records), BATCH):
            if time.monotonic() > deadline:
                return
            body = json.dumps({entity: records[start : start + BATCH]})
            await send(client, f"{base_url}/api/sync/{entity}", store, body, stats)
            store.batches += 1


async def send(client, url, store, body, stats, **request_options):
    """POSTs a batch as the store, as the plugin does: sent again after a 429's or 503's Retry-After,
    or NO_ANSWER_WAIT_S after a send that got no answer, ATTEMPTS sends at most. Whether it was
    stored (200); the rest is counted in stats and store."""
    began = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        request = HTTPRequest(
            url,
            method="POST",
            body=body,
            request_timeout=300,
            headers={"Authorization": f"Bearer {store.token}", "Content-Type": "application/json"},
            **request_options,
        )
        response = await client.fetch(request, raise_error=False)
        stats.answers[response.code] = stats.answers.get(response.code, 0) + 1
        if response.code == 599:
            store.unanswered += 1
        elif response.code != 200 and (sync_log_id := named_sync_log(response)):
            store.failed_logs.add(sync_log_id)
        reason = SENT_AGAIN_ON.get(response.code)
        if reason is None or attempt == ATTEMPTS:
            break
        wait = NO_ANSWER_WAIT_S if response.code == 599 else retry_after(response, stats)
        stats.sent_again.setdefault(reason, []).append(wait)
        stats.batches_sent_again += attempt == 1
        await asyncio.sleep(wait)
    stats.latencies.append(time.monotonic() - began)
    if response.code == 200:
        store.stored += 1
    else:
        stats.failed[response.code] = stats.failed.get(response.code, 0) + 1
    return response.code == 200


def retry_after(response, stats):
    """A 429's or 503's Retry-After in seconds; 1 where it lacks one, counted in stats."""
    value = response.headers.get("Retry-After")
    if value is None:
        stats.missing_retry_after += 1
        return 1.0
    return float(value)


def named_sync_log(response):
    """The sync log an error answer names (its batch failed in the database), or None."""
    try:
        return json.loads(response.body)["error"].get("syncLogId")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


UNRESOLVED = """
    SELECT (SELECT count(*) FROM order_items WHERE store_id = %(store)s AND product_id IS NULL)
         + (SELECT count(*) FROM orders WHERE store_id = %(store)s AND wc_customer_id IS NOT NULL
                                          AND customer_id IS NULL),
           (SELECT count(*) FROM order_items WHERE store_id = %(store)s)
"""


def verify(stores):
    """(lost, duplicated, bad_logs, unresolved): rows missing, rows present more than once, logs
    not completed but those an error answer named, completed logs more or fewer than the batches
    stored (and the sends that got no answer, which may have stored theirs), order items and orders
    not resolved to their product and customer (or items not stored)."""
    conn = psycopg2.connect(DATABASE_URL)
    lost = duplicated = bad_logs = unresolved = 0
    with conn.cursor() as cur:
        for store in stores:
            for entity, records in store.catalogue.items():
                id_column = ENTITIES[entity].id_field
                cur.execute(
                    sql.SQL("SELECT {}, count(*) FROM {} WHERE store_id = %s GROUP BY 1").format(
                        sql.Identifier(id_column), sql.Identifier(entity)
                    ),
                    (store.id,),
                )
                stored = dict(cur.fetchall())
                sent = {record["id"] for record in records}
                lost += len(sent - stored.keys())
                duplicated += sum(count - 1 for count in stored.values()) + len(stored.keys() - sent)
            cur.execute("SELECT id::text, status FROM sync_logs WHERE store_id = %s", (store.id,))
            logs = dict(cur.fetchall())
            completed = sum(status == "completed" for status in logs.values())
            bad_logs += sum(status != "completed" and id not in store.failed_logs for id, status in logs.items())
            bad_logs += max(0, store.stored - completed) + max(0, completed - store.stored - store.unanswered)
            cur.execute(UNRESOLVED, {"store": store.id})
            waiting, items = cur.fetchone()
            unresolved += waiting + abs(items - sum(len(order["line_items"]) for order in store.catalogue["orders"]))
    conn.close()
    return lost, duplicated, bad_logs, unresolved


async def run(stores, base_url):
    AsyncHTTPClient.configure(None, max_clients=len(stores))
    client = AsyncHTTPClient()
    stats = Stats()
    deadline = time.monotonic() + SECONDS
    began = time.monotonic()
    await asyncio.gather(*(push(client, base_url, store, stats, deadline) for store in stores))
    return stats, time.monotonic() - began


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


async def flood(client, url, store, records, stats, deadline):
    """One of the flooding store's connections: batch after batch, each sent as the plugin would
    (send). The records it stored."""
    body = json.dumps({"products": records})
    stored = 0
    while time.monotonic() < deadline:
        if await send(client, url, store, body, stats, expect_100_continue=True):
            stored += len(records)
    return stored


async def quiet(client, url, store, stats, deadline):
    """A store at a normal pace: 10 products every 0.5 s (or as soon as the last one is answered)."""
    n = 0
    while time.monotonic() < deadline:
        batch = store.catalogue["products"][n % PRODUCTS : n % PRODUCTS + QUIET_BATCH]
        began = time.monotonic()
        await send(client, url, store, json.dumps({"products": batch}), stats)
        n += QUIET_BATCH
        await asyncio.sleep(max(0, began + QUIET_EVERY_S - time.monotonic()))


async def noisy_run(stores, base_url):
    AsyncHTTPClient.configure(None, max_clients=FLOOD_CONNECTIONS + len(stores))
    client = AsyncHTTPClient()
    noisy, quiet_stores = stores[0], stores[1:]
    url = f"{base_url}/api/sync/products"
    records = (noisy.catalogue["products"] * (-(-FLOOD_BATCH // PRODUCTS)))[:FLOOD_BATCH]
    flooding, stats = Stats(), Stats()
    began = time.monotonic()
    deadline = began + SECONDS
    stored = await asyncio.gather(
        *(flood(client, url, noisy, records, flooding, deadline) for _ in range(FLOOD_CONNECTIONS)),
        *(quiet(client, url, store, stats, deadline) for store in quiet_stores),
    )
    return sum(stored[:FLOOD_CONNECTIONS]), flooding, stats, time.monotonic() - began


def noisy_main():
    migrate(DATABASE_URL)
    stores = create_stores(1 + QUIET_STORES)
    if SERVER_URL:
        stored, flooding, stats, elapsed = asyncio.run(noisy_run(stores, SERVER_URL))
    else:
        with Server(DATABASE_URL, pool_size=10, workers=WORKERS) as server:
            stored, flooding, stats, elapsed = asyncio.run(noisy_run(stores, server.base_url))
    ms = sorted(latency * 1000 for latency in stats.latencies)
    print(
        f"noisy neighbour, {elapsed:.0f} s, WORKERS={WORKERS}: 1 store flooding from {FLOOD_CONNECTIONS} connections "
        f"with {FLOOD_BATCH}-product batches; {QUIET_STORES} quiet store(s), {QUIET_BATCH} products every "
        f"{QUIET_EVERY_S} s"
    )
    print(
        f"quiet stores: {len(ms)} batches, p50 {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
        f"p99 {percentile(ms, 0.99):.0f} ms, max {ms[-1]:.0f} ms; sent again {stats.sent_again_summary()}, "
        f"failed {stats.failed or 0}"
    )
    answered = dict(sorted(flooding.answers.items()))
    given_up = flooding.failed.get(429, 0)  # the store's own limit doing its job
    print(
        f"flooding store: {stored / elapsed:.0f} records/s stored ({answered.get(200, 0)} batches), "
        f"answers {answered}, sent again {flooding.sent_again_summary()}, given up after {ATTEMPTS} 429s {given_up}, "
        f"failed otherwise {sum(flooding.failed.values()) - given_up}"
    )
    print(f"429/503 without Retry-After {stats.missing_retry_after + flooding.missing_retry_after}")
    failed = stats.failed or set(flooding.failed) - {429} or stats.missing_retry_after or flooding.missing_retry_after
    return 1 if failed or percentile(ms, 0.95) >= QUIET_P95_MS else 0


def main():
    if SCENARIO == "noisy":
        return noisy_main()
    migrate(DATABASE_URL)
    stores = create_stores(STORES)
    if SERVER_URL:  # a running server, e.g. make run's, whose database is LOAD_DATABASE_URL
        stats, elapsed = asyncio.run(run(stores, SERVER_URL))
    else:
        with Server(DATABASE_URL, pool_size=10) as server:
            stats, elapsed = asyncio.run(run(stores, server.base_url))
    finished = all(store.batches == sum(-(-len(r) // BATCH) for r in store.catalogue.values()) for store in stores)
    lost, duplicated, bad_logs, unresolved = verify(stores) if finished else ("n/a",) * 4
    batches, requests = len(stats.latencies), sum(stats.answers.values())
    records = STORES * (PRODUCTS + CUSTOMERS + CATEGORIES + ORDERS)
    ms = sorted(latency * 1000 for latency in stats.latencies)
    print(
        f"stores {STORES}, each {CATEGORIES} categories + {PRODUCTS} products + {CUSTOMERS} customers "
        f"+ {ORDERS} orders (1-5 items) in batches of {BATCH}, all stores at once"
    )
    print(
        f"requests {requests} for {batches} batches in {elapsed:.1f} s: {requests / elapsed:.1f} requests/s, "
        f"{records / elapsed if finished else 0:.0f} records/s"
    )
    if ms:
        print(
            f"latency (first send to last answer) p50 {statistics.median(ms):.0f} ms, "
            f"p99 {percentile(ms, 0.99):.0f} ms, max {ms[-1]:.0f} ms"
        )
    print(f"batches sent again {stats.sent_again_summary()}; 429/503 without Retry-After {stats.missing_retry_after}")
    print(f"batches failed {sum(stats.failed.values())}" + (f" {stats.failed}" if stats.failed else ""))
    print(f"all catalogues sent within {SECONDS:.0f} s: {finished}")
    print(
        f"rows lost {lost}, rows duplicated {duplicated}, sync logs amiss {bad_logs}, "
        f"references unresolved {unresolved}"
    )
    checks = (stats.failed, stats.missing_retry_after, lost, duplicated, bad_logs, unresolved)
    return 0 if finished and checks == ({}, 0, 0, 0, 0, 0) else 1


if __name__ == "__main__":
    if DATABASE_URL:
        sys.exit(main())
    if SERVER_URL:
        sys.exit("LOAD_URL needs LOAD_DATABASE_URL: the database of that server, for the checks")
    with embedded.throwaway() as cluster:  # a bare machine: a PostgreSQL of its own
        DATABASE_URL = cluster.url("wcsync_load")
        code = main()
    sys.exit(code)

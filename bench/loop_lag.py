"""How long one large batch blocks the event loop (docs/performance.md).

    LOAD_DATABASE_URL=postgresql://localhost:5432/wcsync_load .venv/bin/python -m bench.loop_lag

Serves the application in this process, with a probe task that sleeps 1 ms
over and over and records how late each wake-up is, while a client (in a
thread of its own, so that its work is not on the loop) posts a batch of
LOOP_LAG_RECORDS (5,000) products. The worst late wake-up is the longest
the loop was held: every other request waits at least that long.
"""

import asyncio
import json
import os
import time
import urllib.request

import psycopg2

from bench.server import free_port
from service import db
from service.config import Config
from service.db.migrate import migrate
from service.http.app import Application
from service.http.auth import hash_token, new_token
from service.http.server import make_server

DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgresql://localhost:5432/wcsync_load")
RECORDS = int(os.environ.get("LOOP_LAG_RECORDS", 5000))
ROUNDS = int(os.environ.get("LOOP_LAG_ROUNDS", 3))


def products(count, round_):
    return [
        {
            "id": n,
            "name": f"Product {n} {round_}",
            "sku": f"SKU-{n}",
            "price": "12.50",
            "regular_price": "15.00",
            "categories": [{"id": 1, "name": "Category 1"}],
            "stock_quantity": n % 100,
            "status": "publish",
            "date_modified_gmt": "2026-01-01T12:00:00",
        }
        for n in range(1, count + 1)
    ]


def create_store():
    conn = psycopg2.connect(DATABASE_URL)
    conn.autocommit = True
    token = new_token()
    with conn.cursor() as cur:
        cur.execute("SELECT create_store(%s, %s)", ("Loop lag store", hash_token(token)))
    conn.close()
    return token


def post(port, token, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/sync/products",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return response.status


async def probe(lags, stop):
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.001)
        lags.append(loop.time() - before - 0.001)


async def main():
    migrate(DATABASE_URL)
    token = create_store()
    config = Config(database_url=DATABASE_URL, pool_size=4)
    pool = await db.create_pool(config)
    server = make_server(Application(config, pool), config)
    port = free_port()
    server.listen(port, "127.0.0.1")
    for round_ in range(ROUNDS):
        body = json.dumps({"products": products(RECORDS, round_)}).encode()
        lags, stop = [], asyncio.Event()
        task = asyncio.create_task(probe(lags, stop))
        began = time.perf_counter()
        status = await asyncio.to_thread(post, port, token, body)
        elapsed = time.perf_counter() - began
        stop.set()
        await task
        lags.sort()
        print(
            f"round {round_ + 1}: {RECORDS} products, status {status}, {elapsed * 1000:.0f} ms; loop blocked "
            f"at worst {lags[-1] * 1000:.0f} ms, p99 {lags[int(len(lags) * 0.99)] * 1000:.1f} ms "
            f"({len(lags)} wake-ups)"
        )
    server.stop()
    pool.close()
    await pool.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())

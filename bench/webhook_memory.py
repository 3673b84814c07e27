"""The server's memory under unauthenticated webhook bodies: a script that prints figures.

    .venv/bin/python -m bench.webhook_memory     # on a throwaway embedded PostgreSQL
    BENCH_DATABASE_URL=postgresql://localhost:5432/wcsync_bench .venv/bin/python -m bench.webhook_memory

WEBHOOK_CONNECTIONS (200) clients at once send a delivery to a real store's webhook URL, unsigned
(the server learns that only once the body is in): first each announcing 10 MiB, then each
announcing the most the route takes (WEBHOOK_MAX_BODY_BYTES) and sending all of it but its last
byte, so that the server holds what it accepted. It prints the server's peak RSS (VmHWM) idle and
after each wave, and the answers the clients got.
"""

import asyncio
import collections
import json
import os

import psycopg2

from service.config import Config
from service.db import embedded
from service.db.migrate import migrate

from .server import Server

CONNECTIONS = int(os.environ.get("WEBHOOK_CONNECTIONS", 200))
CHUNK = 64 * 1024
KEY = "bench webhook key"


def webhook_store(url):
    """A store with a webhook secret: its deliveries' bodies are read before the signature is checked."""
    migrate(url)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT create_store('webhook memory', md5(random()::text) || md5(random()::text))")
        (store_id,) = cur.fetchone()
        cur.execute("SELECT webhook_secret_set(%s, 'a secret', %s)", (store_id, KEY))
    return store_id


async def deliver(port, store_id, announced, sent, answers):
    """One unsigned delivery announcing `announced` bytes, of which `sent` are sent; its answer's
    status (or what became of it) is counted in answers. The connection stays open until the end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"POST /api/webhooks/woocommerce/{store_id} HTTP/1.1\r\nHost: bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {announced}\r\n"
            "X-WC-Webhook-Topic: product.updated\r\nX-WC-Webhook-Signature: bm90IHNpZ25lZA==\r\n\r\n"
        ).encode()
    )
    try:
        left = sent
        while left > 0 and not reader.at_eof():
            writer.write(b" " * min(CHUNK, left))
            left -= min(CHUNK, left)
            await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
        answers[status.split()[1].decode() if status else "closed"] += 1
    except TimeoutError:
        answers["held (no answer yet)"] += 1
    except ConnectionError:
        answers["reset"] += 1
    return writer


async def wave(port, store_id, announced, sent):
    answers = collections.Counter()
    writers = await asyncio.gather(*(deliver(port, store_id, announced, sent, answers) for _ in range(CONNECTIONS)))
    for writer in writers:
        writer.close()
    return dict(answers)


def measure(url):
    store_id = webhook_store(url)
    limit = Config.webhook_max_body_bytes
    os.environ["WEBHOOK_KEY"] = KEY
    with Server(url, pool_size=10) as server:
        figures = {"idle": (server.peak_rss_mib(), {})}
        answers = asyncio.run(wave(server.port, store_id, 10 * 1024 * 1024, 10 * 1024 * 1024))
        figures[f"{CONNECTIONS} x 10 MiB announced"] = (server.peak_rss_mib(), answers)
        answers = asyncio.run(wave(server.port, store_id, limit, limit - 1))
        figures[f"{CONNECTIONS} x {limit:,} bytes announced, all but 1 sent"] = (server.peak_rss_mib(), answers)
    for name, (rss, answers) in figures.items():
        print(f"{name}: server peak RSS {rss:.0f} MiB; answers {json.dumps(answers)}")


def main():
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return measure(url)
    with embedded.throwaway() as cluster:
        return measure(cluster.url("wcsync_bench"))


if __name__ == "__main__":
    main()

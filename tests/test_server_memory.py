"""The server process's memory under bodies meant to exhaust it: its peak RSS
(VmHWM, reset before each attack) is measured from /proc.
"""

import asyncio
import contextlib

import pytest

from bench.server import Server, status_kib
from service.batch.body import FAST_PARSE_VALUES

from raw_http import error_code, exchange, head

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(database_url):
    """A `python -m service serve` process: (port, pid)."""
    with Server(database_url, pool_size=4) as process:
        yield process.port, process.process.pid


def reset_peak_rss(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def rss_mib(pid, field):
    return status_kib(pid, field) / 1024


async def send_and_read(port, data):
    """Sends data (the server may stop reading and close), then reads its answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    except ConnectionError:
        return b""
    finally:
        writer.close()


@pytest.mark.gen_test(timeout=60)
async def test_six_40mb_bodies_to_an_unknown_path_do_not_grow_memory(server):
    port, pid = server
    reset_peak_rss(pid)
    before = rss_mib(pid, "VmRSS")
    body = b"x" * (40 * MB)
    request = head("POST", "/nope", {"Content-Length": str(len(body))}) + body
    await asyncio.gather(*(send_and_read(port, request) for _ in range(6)))
    peak = rss_mib(pid, "VmHWM")
    assert peak - before < 20, (before, peak)


@pytest.mark.parametrize(
    "size",
    [
        10 * MB,  # 3.5 million records: walked, and refused past the limit
        2 * FAST_PARSE_VALUES - 1,  # the largest body read at once without counting its commas
    ],
)
@pytest.mark.gen_test(timeout=60)
async def test_a_batch_of_a_flood_of_empty_records_is_refused_in_bounded_memory(server, store, size):
    port, pid = server
    records = b",".join([b"{}"] * ((size - 20) // 3))
    body = b'{"products": [' + records + b"]}"
    assert len(body) <= size
    reset_peak_rss(pid)
    before = rss_mib(pid, "VmRSS")

    status, _, answer = await exchange(
        port,
        head(
            "POST",
            "/api/sync/products",
            {
                "Authorization": f"Bearer {store.token}",
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "Connection": "close",
            },
        )
        + body,
        timeout=30,
    )

    assert (status, error_code(answer)) == (413, "batch_too_large")
    peak = rss_mib(pid, "VmHWM")
    assert peak < 200 and peak - before < 60, (before, peak)

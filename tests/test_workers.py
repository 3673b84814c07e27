"""WORKERS: several server processes on one port, stopped together by SIGTERM to the parent."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from bench.server import free_port
from service.http.workers import worker_count


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rpartition(")")[2].split()[1]) == pid:
                        found.append(int(entry))
            except FileNotFoundError:
                pass
    return found


def health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
        return json.loads(response.read())["data"]["status"]


def wait_healthy(port, process, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            return health(port)
        except OSError:
            time.sleep(0.1)
    raise AssertionError("no worker answered")


def test_zero_workers_is_one_per_core():
    assert worker_count(0) == len(os.sched_getaffinity(0))
    assert worker_count(3) == 3


def test_two_workers_serve_one_port_and_stop_on_sigterm(database_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_healthy(port, process) == "ok"
        workers = children(process.pid)
        assert len(workers) == 2
        assert all(health(port) == "ok" for _ in range(10))
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert output.count(f"listening on port {port}") == 2
    assert output.count("wcsync.server stopped") == 2
    assert "all workers stopped" in output
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)  # reaped: no orphans


def test_a_worker_that_dies_stops_the_others(database_url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_healthy(port, process)
        first, second = children(process.pid)
        os.kill(first, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert f"worker {first} exited with -9: stopping the others" in output
    assert not os.path.exists(f"/proc/{second}")

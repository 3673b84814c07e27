"""The service under test: `python -m service serve` in a subprocess, as load/ runs it.

One server is started per HTTP case, so that its peak resident set size
(VmHWM in /proc/<pid>/status) belongs to that case alone.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

from .cpu import process_tree


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_kib(pid, field):
    """A 'kB' field of /proc/<pid>/status (VmHWM, VmRSS), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


class Server:
    """A running service process on a free port; use as a context manager."""

    def __init__(self, database_url, pool_size, workers=1, cwd=None):
        """cwd: the tree whose service runs (another revision's, bench/baseline.py); default this one."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "POOL_SIZE": str(pool_size),
            "WORKERS": str(workers),
        }
        # Its log (one access line per request) is written, as in production, and discarded.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait_healthy()

    def wait_healthy(self, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not become healthy")

    def peak_rss_mib(self):
        """The largest peak resident set size so far of its processes (workers), in MiB."""
        return max(status_kib(pid, "VmHWM") for pid in process_tree(self.process.pid)) / 1024

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

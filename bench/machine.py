"""What the figures were measured on."""

import os
import platform


def cpu_model():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def memory_gib():
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def describe(postgres_version, postgres_settings):
    """Lines naming the machine, its CPU, memory, PostgreSQL and Python."""
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)",
        f"RAM: {memory_gib():.1f} GiB; kernel {platform.release()}",
        f"PostgreSQL {postgres_version} on 127.0.0.1 ({postgres_settings})",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
    ]

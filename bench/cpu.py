"""CPU seconds spent by the processes doing a case's work, from /proc: the service and its
PostgreSQL backends (read as root, or as the user both run as).

Each process's time on a CPU is read from its threads' schedstat, in nanoseconds: utime + stime
from /proc/<pid>/stat count 10 ms ticks, too coarse for a run of one 1,000-category batch (about
40 ms of PostgreSQL's time)."""

import os
from contextlib import closing

import psycopg2


def _stat(pid):
    """/proc/<pid>/stat's fields after the command name (fields 3...), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid):
    """The time pid's live threads have run on a CPU so far (0 once it is gone)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return sum(_task_nanoseconds(pid, task) for task in tasks) / 1e9


def _task_nanoseconds(pid, task):
    try:
        with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
            return int(schedstat.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):  # the thread ended since it was listed
        return 0


def process_tree(pid):
    """pid and its live descendants (a server's worker processes)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        found.append(pending.pop())
        pending.extend(children.get(found[-1], ()))
    return found


def backends(url):
    """The pids of the client backends connected to url's database (no autovacuum worker), this
    query's own left out."""
    with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cur.fetchall()]


class Meter:
    """CPU seconds of the processes pids() names, over a with block: a process that appears
    counts from 0; one that ends inside the block is missed, so the work's processes must outlive it."""

    def __init__(self, pids):
        self.pids = pids
        self.seconds = None

    def __enter__(self):
        self.before = {pid: cpu_seconds(pid) for pid in self.pids()}
        return self

    def __exit__(self, *exc_info):
        self.seconds = sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in self.pids())

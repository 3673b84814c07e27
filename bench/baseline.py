"""The service as it was before a revision's changes, run beside today's in the same bench run.

Records per CPU-second depend on the machine (a shared 2-core machine
measured 3,500 one day and 11,900 another for the same code), so a speed-up
is only a figure when both versions run on the same machine at the same
time. The baseline's tree is taken from git (`git archive`, so the working
tree is untouched), its database migrated by its own code, and its server
run from its own directory with this venv.

BENCH_BASELINE (default: BEFORE_ISSUE_14) names the revision; empty skips it.
"""

import functools
import io
import os
import subprocess
import sys
import tarfile
import tempfile

from service.db.migrate import database_name, recreate_database, with_database

from .database import add_scratch_tables, check_name

# The last commit before the performance work of issue 14 ("Twice the records per
# CPU-second"): its figures are what that issue's "today" means.
BEFORE_ISSUE_14 = "b861969"
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def url_for(url):
    """The baseline's own database beside the bench's (its schema and functions are its own)."""
    return with_database(url, database_name(url) + "_baseline")


def checkout(revision):
    """The revision's tree in a new temporary directory (removed at exit by the caller's cleanup)."""
    archive = subprocess.run(
        ["git", "-C", REPOSITORY, "archive", "--format=tar", revision], check=True, capture_output=True
    ).stdout
    directory = tempfile.mkdtemp(prefix="wcsync-baseline-")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


def migrate(directory, url):
    """Recreates url's database and migrates it with the baseline's own code (plus the bench's
    scratch tables, which every case empties)."""
    check_name(url)
    recreate_database(url)
    subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=directory,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    add_scratch_tables(url)


@functools.cache
def label(revision):
    short = subprocess.run(
        ["git", "-C", REPOSITORY, "rev-parse", "--short", revision], check=True, capture_output=True, text=True
    ).stdout.strip()
    return f"before ({short})"

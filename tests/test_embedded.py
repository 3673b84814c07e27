"""The embedded PostgreSQL: one server shared by the processes that use it, stopped by the last.

These tests start clusters of their own in temporary directories, whatever
database the rest of the suite runs on.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

from bench.server import free_port
from service.__main__ import main
from service.db import embedded
from service.db.migrate import migrate, with_database

from http_helpers import wait_for_health
from sql_helpers import every_step

CHECKOUT = Path(__file__).resolve().parent.parent


def server_pid(cluster):
    """The postmaster's pid while it runs, else None."""
    return int(cluster_file(cluster, "postmaster.pid").read_text().split()[0]) if cluster.url() else None


def cluster_file(cluster, name):
    return cluster.directory.resolve() / name


def processes_using(path):
    """Pids of the live processes whose command line names path."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return pids


def error_lines(cluster):
    log = cluster_file(cluster, "server.log").read_text()
    return [line for line in log.splitlines() if "ERROR" in line or "FATAL" in line]


@pytest.fixture
def data_dir():
    """A new directory for a cluster. Not pytest's tmp_path: as root, PostgreSQL runs as
    embedded.SERVICE_USER, which cannot enter root's private pytest-of-root."""
    path = Path(tempfile.mkdtemp(prefix="wcsync-embedded-test-"))
    path.chmod(0o755)
    yield path
    cluster = embedded.Cluster(path / "postgres")
    if cluster.url():  # a failed test must not leave its server behind
        cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def test_processes_share_one_server_and_the_last_one_stops_it(data_dir):
    first, second = embedded.Cluster(data_dir / "postgres"), embedded.Cluster(data_dir / "postgres")
    with first:
        pid = server_pid(first)
        with second:
            assert server_pid(second) == pid, "the second user must reuse the running server"
        assert first.url() is not None, "a user that ends before the others leaves the server running"
        with closing(psycopg2.connect(first.url())) as conn, conn.cursor() as cur:
            cur.execute("SELECT current_setting('listen_addresses'), current_setting('server_version_num')::int")
            assert cur.fetchone()[0] == ""  # a unix socket only, never TCP
    assert first.url() is None
    assert processes_using(first.directory.resolve()) == []


def test_a_user_killed_without_cleanup_is_not_counted(data_dir):
    """A process killed outright holds no flock any more: the next one to end stops the server."""
    script = (
        "import sys, time; from service.db import embedded; "
        "embedded.Cluster(sys.argv[1]).__enter__(); print('up', flush=True); time.sleep(60)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir / "postgres")], cwd=CHECKOUT, stdout=subprocess.PIPE, text=True
    ) as killed:
        assert killed.stdout.readline() == "up\n"
        killed.kill()
    cluster = embedded.Cluster(data_dir / "postgres")
    assert cluster.url() is not None, "the server outlives the killed process"
    with cluster:
        pass
    assert cluster.url() is None


def test_a_socket_path_too_long_for_unix_goes_to_a_short_directory(data_dir):
    deep = data_dir / ("d" * 60) / ("e" * 60)
    deep.mkdir(mode=0o755, parents=True)
    deep.parent.chmod(0o755)
    with embedded.Cluster(deep / "postgres") as cluster:
        socket_dir = psycopg2.extensions.parse_dsn(cluster.url())["host"]
        assert not socket_dir.startswith(str(deep))
        assert len(socket_dir) + len("/.s.PGSQL.5432") <= embedded.SOCKET_PATH_MAX
        psycopg2.connect(cluster.url()).close()
    assert not Path(socket_dir).exists(), "the short directory goes with the server"


def test_a_clean_start_and_migration_leave_no_error_in_the_server_log(data_dir):
    with embedded.Cluster(data_dir / "postgres") as cluster:
        url = cluster.url("wcsync")
        assert migrate(url) == every_step()
        assert migrate(url) == []
    with embedded.Cluster(data_dir / "postgres") as cluster:  # a restart, with the schema in place
        assert migrate(cluster.url("wcsync")) == []
        assert error_lines(cluster) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's clusters move out of reach")
def test_as_root_a_cluster_the_service_user_cannot_reach_lives_under_var_lib(data_dir, root_home):
    private = data_dir / "private"
    private.mkdir(mode=0o700)
    cluster = embedded.Cluster(private / "postgres")
    with cluster:
        assert cluster.directory.is_symlink()
        elsewhere = cluster.directory.resolve()
        assert elsewhere.is_relative_to(root_home)
        psycopg2.connect(cluster.url()).close()
    cluster.remove()
    assert not cluster.directory.exists() and not cluster.directory.is_symlink()
    assert not elsewhere.exists()
    with cluster:  # a fresh start: initdb again, where it was
        assert cluster.directory.resolve() == elsewhere
        psycopg2.connect(cluster.url()).close()
    shutil.rmtree(private)  # the link deleted by hand (rm -rf .data), its cluster left behind
    private.mkdir(mode=0o700)
    with cluster:  # starts over there
        assert cluster.directory.resolve() == elsewhere
        psycopg2.connect(cluster.url()).close()
    cluster.remove()
    assert not elsewhere.exists()


def test_delete_data_removes_the_cluster_and_refuses_while_it_is_in_use(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cluster = embedded.Cluster(data_dir / "postgres")
    with cluster:
        assert main(["delete-data"]) == 1
        assert "in use" in capsys.readouterr().err
        assert cluster.url() is not None
    assert main(["delete-data"]) == 0
    assert not (data_dir / "postgres").exists()
    assert sorted(path.name for path in data_dir.iterdir()) == []
    assert main(["delete-data"]) == 0  # nothing left to delete


def test_without_database_url_the_service_runs_on_its_own_postgres_and_leaves_nothing_running(data_dir):
    """make run's path end to end: migrate, serve, a CLI command beside it, a batch, psql, SIGTERM."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(DATA_DIR=str(data_dir), PORT=str(free_port()))

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "service", *args], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=60
        )

    assert cli("migrate").stdout == f"applied: {', '.join(every_step())}\n"
    cluster = embedded.Cluster(data_dir / "postgres")
    assert cluster.url() is None, "migrate stops the server it started"
    assert cli("db-url").returncode == 1

    serve = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"],
        cwd=CHECKOUT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        wait_for_health(base)
        created = cli("create-store", "--name", "Bare machine")
        token = dict(line.split(":", 1) for line in created.stdout.splitlines())["token"].strip()
        assert cluster.url() is not None, "a CLI command leaves the server that make run uses running"

        body = json.dumps({"products": [{"id": 7, "name": "Kettle", "price": "12.50"}]}).encode()
        request = urllib.request.Request(
            f"{base}/api/sync/products",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["data"]["syncedCount"] == 1

        url = cli("db-url").stdout.strip()
        with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT name, price::text FROM products WHERE wc_product_id = 7")
            assert cur.fetchone() == ("Kettle", "12.50")
        assert cli("psql", "-XAtc", "SELECT count(*) FROM products").stdout == "1\n"
    finally:
        serve.send_signal(signal.SIGTERM)
        _, log = serve.communicate(timeout=40)
    assert serve.returncode == 0, log
    assert cluster.url() is None
    assert processes_using(data_dir) == []
    assert error_lines(cluster) == []


def test_make_test_refuses_a_database_not_named_for_tests(database_url, query):
    """TEST_DATABASE_URL=$DATABASE_URL make test must not wipe the development database."""
    precious = with_database(database_url, "wcsync_precious")
    query("DROP DATABASE IF EXISTS wcsync_precious")
    query("CREATE DATABASE wcsync_precious")
    try:
        with psycopg2.connect(precious) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE kept (x int)")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=CHECKOUT,
            env={**os.environ, "TEST_DATABASE_URL": precious},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "'wcsync_precious' does not end in _test" in result.stderr
        with psycopg2.connect(precious) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('kept') IS NOT NULL")
            assert cur.fetchone() == (True,)
    finally:
        query("DROP DATABASE wcsync_precious WITH (FORCE)")

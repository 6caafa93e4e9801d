"""A team's MLflow stack on 127.0.0.1: PostgreSQL, `mlflow server`, and an S3 API stand-in.

PostgreSQL 16 comes from the `pgserver` wheel; its binaries are run directly (pgserver's own
wrapper, as root, adds a system user and opens the permissions of every parent directory):
as root they run as `nobody`, as PostgreSQL refuses root. The tracking server gets a venv of
its own, as a team's server has: the project's MLflow version with the database driver and
boto3 of this test environment. moto's server mode stands in for S3: it is not a storage
service, only the S3 API that boto3, MLflow and DVC talk to
(all three find it through ``AWS_ENDPOINT_URL``).

Every process starts in its own process group and is stopped through it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import BIN, free_port, run, stop_group

SERVER_READY_WITHIN = 120.0  # seconds: ~20-30 s on a quiet 2-core machine
POSTGRES_READY_WITHIN = 30.0
S3_READY_WITHIN = 30.0
# Trust on the socket (it is private to this machine's test); no fsync: the data is thrown away.
INITDB_FLAGS = ("--auth=trust", "--encoding=utf8", "--no-sync")
# Fake credentials: moto accepts any, and no request may reach a real account.
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _postgres_bin() -> Path:
    """The PostgreSQL binaries inside the installed pgserver wheel (without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations, "pgserver is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _wait(
    ready: Callable[[], bool], process: subprocess.Popen[str], log: Path, within: float
) -> float:
    """Poll `ready()` until true; seconds taken. Fails (with the log's end) if the process
    exits or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise AssertionError(f"{process.args[0]} exited with {process.returncode}:\n{tail}")
        if ready():
            return time.monotonic() - start
        time.sleep(0.2)
    tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
    raise AssertionError(f"{process.args[0]} was not ready within {within} s:\n{tail}")


def _answers(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


def _start(
    command: Sequence[str | Path],
    log: Path,
    env: Mapping[str, str] | None = None,
    user: pwd.struct_passwd | None = None,
) -> subprocess.Popen[str]:
    """Start a server in a new process group, its output to `log`."""
    as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [str(part) for part in command],
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            **as_user,  # type: ignore[arg-type]
        )


def _stop(process: subprocess.Popen[str], what: str) -> None:
    if process.poll() is None:
        assert stop_group(process), f"{what} outlived SIGTERM to its process group"


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL: its unix socket directory and how long it took to start."""

    socket_dir: Path
    started_in: float

    def _client(self, name: str) -> list[str | Path]:
        return [_postgres_bin() / name, "-h", self.socket_dir, "-U", "postgres"]

    def create_database(self, name: str) -> str:
        """Create database `name`; its SQLAlchemy URI for MLflow (psycopg2, unix socket)."""
        run(
            [*self._client("createdb"), name],
            cwd=Path("/"),
        )
        return f"postgresql+psycopg2://postgres@/{name}?host={self.socket_dir}"

    def query(self, database: str, sql: str) -> list[list[str]]:
        """Rows of a query, read with psql straight from the database."""
        done = run(
            [*self._client("psql"), "-d", database, "-At", "-F", "\t", "-c", sql],
            cwd=Path("/"),
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line]


def _reachable_copy(pg_bin: Path, dest: Path) -> Path:
    """The wheel's binaries and the libraries their rpath names, copied to `dest`, for a user
    who cannot reach the venv; the bin directory of the copy."""
    package = pg_bin.parents[1]  # site-packages/pgserver; its libraries: pgserver.libs beside
    libs = package.with_name(f"{package.name}.libs")
    shutil.copytree(libs, dest / libs.name, symlinks=True)
    shutil.copytree(pg_bin.parent, dest / package.name / "pginstall", symlinks=True)
    return dest / package.name / "pginstall" / "bin"


@contextmanager
def postgres() -> Iterator[Postgres]:
    """initdb and start PostgreSQL on a unix socket only (no TCP); stopped and deleted after."""
    pg_bin = _postgres_bin()
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    # Not below pytest's tmp_path: that is private to root, and `nobody` must reach the data.
    base = Path(tempfile.mkdtemp(prefix="team-postgres-"))
    try:
        base.chmod(0o755)
        if user:  # the wheel may lie below a directory private to root (mktemp -d)
            pg_bin = _reachable_copy(pg_bin, base / "wheel")
        data, sockets = base / "data", base / "socket"
        for directory in (data, sockets):
            directory.mkdir(mode=0o700)
            if user:
                os.chown(directory, user.pw_uid, user.pw_gid)
        start = time.monotonic()
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
        subprocess.run(
            [*(pg_bin / "initdb", "-D", data, "-U", "postgres"), *INITDB_FLAGS],
            check=True,
            capture_output=True,
            cwd=base,
            **as_user,  # type: ignore[arg-type]
        )
        log = base / "postgres.log"
        process = _start(
            [pg_bin / "postgres", "-D", data, "-k", sockets, "-c", "listen_addresses="],
            log,
            user=user,
        )
        try:
            _wait(
                lambda: (
                    subprocess.run(
                        [pg_bin / "pg_isready", "-q", "-h", sockets, "-U", "postgres"], check=False
                    ).returncode
                    == 0
                ),
                process,
                log,
                POSTGRES_READY_WITHIN,
            )
            yield Postgres(sockets, time.monotonic() - start)
        finally:
            _stop(process, "postgres")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def server_venv(where: Path, mlflow_version: str) -> Path:
    """A venv for the tracking server: mlflow, psycopg2 and boto3 (this environment's pins).

    Not compiled whole (a minute on a busy 2-core machine): the server compiles what it imports.
    """
    pins = [f"mlflow=={mlflow_version}"] + [
        f"{name}=={importlib.metadata.version(name)}" for name in ("psycopg2-binary", "boto3")
    ]
    run([BIN / "uv", "venv", "--quiet", "--python", BIN / "python", where], cwd=where.parent)
    python = where / "bin" / "python"
    run(
        [BIN / "uv", "pip", "install", "--quiet", "--python", python, *pins],
        cwd=where.parent,
        timeout=600,
    )
    return where


@dataclass(frozen=True)
class TrackingServer:
    """A running `mlflow server`: its URL and seconds from start to its first 200 on /health."""

    url: str
    ready_in: float


@contextmanager
def tracking_server(
    venv: Path, backend_uri: str, artifacts: str, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[TrackingServer]:
    """`mlflow server` on a free 127.0.0.1 port, artifacts served through it (proxied)."""
    port = free_port()
    command = [venv / "bin" / "mlflow", "server", "--backend-store-uri", backend_uri]
    command += ["--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1"]  # one client: four workers would only slow the start down
    environ = {
        # Without it the server starts job workers that outlive a plain kill of the server.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # The venv is not compiled whole: bytecode is written on first import, into the venv.
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(venv / "pycache"),
        **(env or {}),
    }
    process = _start(command, log, environ)
    url = f"http://127.0.0.1:{port}"
    try:
        ready_in = _wait(lambda: _answers(f"{url}/health"), process, log, SERVER_READY_WITHIN)
        yield TrackingServer(url, ready_in)
    finally:
        _stop(process, "mlflow server")


@contextmanager
def s3_stand_in(log: Path) -> Iterator[str]:
    """moto's server mode on a free 127.0.0.1 port (an S3 API stand-in); its endpoint URL."""
    port = free_port()
    process = _start([BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)], log, S3_ENV)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _answers(f"{url}/moto-api/"), process, log, S3_READY_WITHIN)
        yield url
    finally:
        _stop(process, "moto_server")

"""A throwaway PostgreSQL server for tests, CI and benchmarks (Debian's ``postgresql``).

``initdb`` into a fresh directory, ``pg_ctl start`` on a free loopback port (password
authentication, its unix socket in that directory), and ``pg_ctl stop`` plus removal of the
directory at the end: no system service, nothing left behind. The binaries come from
``/usr/lib/postgresql/<version>/bin`` (or ``PATH``). ``initdb`` and ``postgres`` refuse to run
as root, so as root the server runs as the ``postgres`` user the Debian package creates.

    python -m scripts.pgserver install   # apt-get install postgresql when initdb is missing
    python -m scripts.pgserver run       # start one, print its URL, stop it on Ctrl-C

Tests use :class:`PostgresServer` from a session fixture; ``GRIDLEDGER_TEST_DATABASE_URL``
points the tests at an existing server instead (a URL whose user may create databases).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import URL, create_engine, make_url, text

from ledger.errors import ConfigError

#: Where Debian's ``postgresql`` package puts the server binaries (one dir per version).
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The unprivileged user the server runs as when we are root (created by the package).
SERVER_USER = "postgres"
#: Settings of a throwaway server: no durability (tests), C collation like SQLite's order.
FAST_OPTIONS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")

app = typer.Typer(help="A throwaway PostgreSQL server.", no_args_is_help=True)


def find_bindir() -> Path | None:
    """The directory holding ``initdb``/``pg_ctl``: the newest Debian version, else ``PATH``."""
    versions = sorted(
        Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bindir in reversed(versions):
        if (bindir / "initdb").is_file():
            return bindir
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def install() -> Path:
    """Install Debian's ``postgresql`` (apt, as root) unless ``initdb`` is already there."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise ConfigError("PostgreSQL is not installed: run `apt-get install -y postgresql`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update", "-q"], check=True, env=env)
    subprocess.run([apt, "install", "-y", "-q", "postgresql"], check=True, env=env)
    bindir = find_bindir()
    if bindir is None:
        raise ConfigError("apt-get installed postgresql but initdb is still missing")
    return bindir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One throwaway server; ``with PostgresServer() as pg: pg.url`` (an admin URL)."""

    def __init__(self, *, durable: bool = False, user: str = "gridledger") -> None:
        bindir = find_bindir()
        if bindir is None:
            raise ConfigError("PostgreSQL is not installed (initdb not found)")
        self.bindir = bindir
        self.durable = durable
        self.user = user
        self.password = secrets.token_urlsafe(16)
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gridledger-pg-"))
        self.data = self.root / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ConfigError("running as root needs runuser to start PostgreSQL")
            self._as_user = [runuser, "-u", SERVER_USER, "--"]
            shutil.chown(self.root, SERVER_USER, SERVER_USER)

    @property
    def url(self) -> str:
        """The admin URL (database ``postgres``) with the password in it: keep it quiet."""
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        """The URL of ``database`` on this server (psycopg 3 driver)."""
        url = URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        )
        return url.render_as_string(hide_password=False)

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as_user, str(self.bindir / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> PostgresServer:
        """initdb, then start the server and wait until it accepts connections."""
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_user:
            shutil.chown(pwfile, SERVER_USER, SERVER_USER)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        options = [
            f"-p {self.port}",
            f"-k {self.root}",
            "-c listen_addresses=127.0.0.1",
            *(() if self.durable else (f"-c {o}" for o in FAST_OPTIONS)),
        ]
        log = self.root / "server.log"
        opts = " ".join(options)
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-o", opts, "start")
        return self

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ConfigError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class Databases:
    """Creates and drops databases through an admin URL (fresh database per test)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self._engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        self._counter = 0
        self._lock = threading.Lock()

    def url_of(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create(self, prefix: str = "gl", *, template: str | None = None) -> str:
        """A new empty database (a copy of ``template`` if given); returns its URL."""
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{os.getpid()}_{self._counter}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self._engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.url_of(name)

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` (closing whatever still holds a connection to it)."""
        name = make_url(url).database
        with self._engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        self._engine.dispose()


@app.command("install")
def install_cmd() -> None:
    """Install Debian's postgresql when initdb is missing (CI; needs root and apt)."""
    typer.echo(f"PostgreSQL binaries: {install()}")


@app.command("run")
def run_cmd(
    durable: Annotated[bool, typer.Option(help="Keep fsync on (benchmark-grade).")] = False,
) -> None:
    """Start a throwaway server, print its URL (for GRIDLEDGER_TEST_DATABASE_URL or
    GRIDLEDGER_DATABASE_URL), and stop and remove it on Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with PostgresServer(durable=durable) as server:
        typer.echo(server.url)
        stop.wait()


if __name__ == "__main__":
    app()

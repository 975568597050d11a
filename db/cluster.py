"""The embedded PostgreSQL + PostGIS cluster used when no ``DATABASE_URL`` is set.

A private cluster per state folder: it listens on a Unix socket and on
127.0.0.1 at a port chosen free at creation.  Run as root, the server runs as
the unprivileged system user ``cadastre`` (PostgreSQL refuses to run as root),
and because a checkout under a private home folder (mode 700) is unreachable
for that user, the cluster's files then live under ``/var/lib/cadastre`` with a
name derived from the state folder; ``status`` says where.  Where the
PostgreSQL or PostGIS packages are missing and we are root on Debian, they are
installed with apt-get.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SERVICE_USER = "cadastre"
SYSTEM_ROOT = Path("/var/lib/cadastre/clusters")
SUPERUSER = "cadastre"


class ClusterError(RuntimeError):
    """The embedded cluster cannot be created, started or reached."""


@dataclass
class ClusterInfo:
    """What ``cluster.json`` in the state folder records about the cluster."""

    data_dir: str
    socket_dir: str
    port: int
    password: str
    bin_dir: str
    run_as: str | None

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"


def _is_root() -> bool:
    return os.geteuid() == 0


def _run(cmd: list[str], *, as_user: str | None = None, check: bool = True,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    if as_user:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, env=env)  # noqa: S603


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries installed, with PostGIS available for them."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    for initdb in candidates:
        version = initdb.parent.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return initdb.parent
    if shutil.which("pg_config"):
        out = _run(["pg_config", "--bindir"], check=False).stdout.strip()
        share = _run(["pg_config", "--sharedir"], check=False).stdout.strip()
        if out and (Path(share) / "extension" / "postgis.control").exists():
            return Path(out)
    return None


def install_packages() -> None:
    """Install PostgreSQL and a matching PostGIS with apt-get (Debian, as root)."""
    if not _is_root() or not shutil.which("apt-get"):
        raise ClusterError(
            "PostgreSQL with PostGIS is not installed and cannot be installed here: as root on "
            "Debian run `apt-get install postgresql postgis`, or set DATABASE_URL to a PostGIS 3 "
            "server"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        _run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env)
    versions = sorted(
        (p.parent.parent.name for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=int,
    )
    _run(["apt-get", "install", "-y", "-qq", f"postgresql-{versions[-1]}-postgis-3"], env=env)


def _ensure_service_user() -> str:
    return ensure_user(SERVICE_USER)


def ensure_user(name: str) -> str:
    """The system user ``name``, created (no home, no shell) when missing; needs root."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
    return name


def _reachable_by(user: str, path: Path) -> bool:
    """Whether ``user`` can traverse every folder down to ``path`` (which may not exist yet).

    Root creates the cluster's own folder and hands it to ``user``; what matters is
    that no private parent folder (mode 700, such as /root) is in the way.
    """
    probe = path
    while not probe.exists():
        probe = probe.parent
    return _run(["test", "-x", str(probe)], as_user=user, check=False).returncode == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_free(port: int) -> bool:
    """Whether PostgreSQL could listen on ``port``.  With SO_REUSEADDR, as PostgreSQL binds:
    after a crash the port's old connections linger in TIME_WAIT, and a plain bind would
    call it taken, so the cluster came back on another port, out of reach of every running
    server that had read the old one (found by tests/db/test_crash.py)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Cluster:
    """The embedded cluster belonging to one state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.info_file = state_dir / "cluster.json"

    # -- description -----------------------------------------------------------------
    def info(self) -> ClusterInfo | None:
        if not self.info_file.exists():
            return None
        return ClusterInfo(**json.loads(self.info_file.read_text()))

    def _save(self, info: ClusterInfo) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info), indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.info_file)

    def _layout(self) -> tuple[Path, str | None]:
        """Where the cluster's files go and which user runs the server."""
        if not _is_root():
            return self.state_dir / "pg", None
        user = _ensure_service_user()
        local = self.state_dir / "pg"
        if _reachable_by(user, self.state_dir):
            return local, user
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        return SYSTEM_ROOT / digest, user

    # -- lifecycle -------------------------------------------------------------------
    def is_running(self) -> bool:
        info = self.info()
        if info is None or not Path(info.data_dir, "data", "PG_VERSION").exists():
            return False
        res = _run([str(Path(info.bin_dir) / "pg_ctl"), "status", "-D",
                    str(Path(info.data_dir, "data"))], as_user=info.run_as, check=False)
        return res.returncode == 0

    def up(self, database: str) -> ClusterInfo:
        """Create (once) and start the cluster, then make sure ``database`` exists."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        info = self.info()
        if info is None or not Path(info.data_dir, "data", "PG_VERSION").exists():
            info = self._create()
        if not self.is_running():
            self._start(info)
        self._ensure_database(info, database)
        return info

    def _create(self) -> ClusterInfo:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            install_packages()
            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise ClusterError("PostGIS was installed but its extension files are missing")
        root, user = self._layout()
        data, sockets = root / "data", root / "run"
        for folder in (root, sockets):
            folder.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n")
        if user:
            shutil.chown(root, user, user)
            shutil.chown(sockets, user, user)
            shutil.chown(pwfile, user, user)
        root.chmod(0o700)
        pwfile.chmod(0o600)
        res = _run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                    f"--pwfile={pwfile}", "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                   as_user=user, check=False)
        pwfile.unlink()
        if res.returncode != 0:
            raise ClusterError(f"initdb failed: {res.stderr.strip()[-500:]}")
        info = ClusterInfo(data_dir=str(root), socket_dir=str(sockets), port=free_port(),
                           password=password, bin_dir=str(bin_dir), run_as=user)
        self._save(info)
        return info

    def _start(self, info: ClusterInfo) -> None:
        if not _port_free(info.port):
            info.port = free_port()
            self._save(info)
        root = Path(info.data_dir)
        opts = (f"-p {info.port} -k {info.socket_dir} -c listen_addresses=127.0.0.1 "
                "-c shared_buffers=256MB -c fsync=on -c max_connections=200")
        res = _run([str(Path(info.bin_dir) / "pg_ctl"), "start", "-w", "-t", "60",
                    "-D", str(root / "data"), "-l", str(root / "server.log"), "-o", opts],
                   as_user=info.run_as, check=False)
        if res.returncode != 0:
            log = (root / "server.log").read_text()[-800:] if (root / "server.log").exists() else ""
            raise ClusterError(f"PostgreSQL did not start: {res.stderr.strip()} {log}")

    def _ensure_database(self, info: ClusterInfo, database: str) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(info.url("postgres", driver="postgresql"),
                                     autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                          (database,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{_ident(database)}"')
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def down(self) -> bool:
        info = self.info()
        if info is None or not self.is_running():
            return False
        _run([str(Path(info.bin_dir) / "pg_ctl"), "stop", "-m", "fast", "-w",
              "-D", str(Path(info.data_dir, "data"))], as_user=info.run_as)
        return True

    def drop_database(self, database: str) -> None:
        import psycopg

        info = self.info()
        if info is None:
            return
        with psycopg.connect(info.url("postgres", driver="postgresql"), autocommit=True) as conn, \
                contextlib.suppress(psycopg.errors.InvalidCatalogName):
            conn.execute(f'DROP DATABASE IF EXISTS "{_ident(database)}" WITH (FORCE)')


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ClusterError(f"invalid database name {name!r}")
    return name

"""The compose stack rehearsed without Docker: its app services (config, bootstrap, bot,
portal) run as local processes with the commands, environment, volumes, healthchecks
and start order that `docker-compose config` resolves.

What stands in for what:
- each service name is a loopback address (`synapse` → 127.a.b.2, ...), and the
  compose network's range is that /24; `0.0.0.0` binds the service's own address;
- each container's `/` is a folder of its own; the named volumes it mounts are links
  into shared folders, so a service sees only the volumes compose gives it, and a file
  written anywhere else under /data stays in that container's folder (its "layer");
- Synapse's image is the pip package on the config `config` rendered; PostgreSQL is the
  machine's, with the roles and databases made by deploy/postgres-init.sh itself (under
  names unique to the run); Ollama is the protocol double, wherever it listens.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import yaml

from stack.settings import REPO_ROOT
from tests.synapse_workers import POSTGRES_ADMIN

COMPOSE_FILES = ("docker-compose.yml", "Dockerfile", "requirements.txt")
# Services that run outside the rehearsal (started, and healthy, before it begins).
EXTERNAL = frozenset({"postgres", "ollama"})
BIND_ALL = "0.0.0.0"
# `config` renders the listeners Synapse binds: its bind addresses are Synapse's.
BINDS_FOR = {"config": "synapse"}
HOST_NUMBERS = {"proxy": 1, "synapse": 2, "ollama": 3, "portal": 4, "bot": 5, "bootstrap": 6, "config": 7}
URLOPEN = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1])"  # `curl -f URL`
PATH = os.environ.get("PATH", "/usr/bin:/bin")
Endpoint = tuple[str, int]


def require(available: object, reason: str) -> None:
    """Skip where a tool or service is missing; in CI (env CI set), fail instead."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def passwords() -> dict[str, str]:
    """The three database passwords compose requires, fresh."""
    return {
        name: secrets.token_hex(24)
        for name in ("POSTGRES_PASSWORD", "SYNAPSE_DB_PASSWORD", "APP_DB_PASSWORD")
    }


def resolve(workdir: Path, variables: Mapping[str, str]) -> dict[str, Any]:
    """What `docker-compose config` makes of the repository's compose file, with
    `.env.example` as `.env` and `variables` in its environment."""
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is not installed"
    workdir.mkdir(parents=True, exist_ok=True)
    for name in COMPOSE_FILES:
        shutil.copy(REPO_ROOT / name, workdir / name)
    shutil.copytree(REPO_ROOT / "deploy", workdir / "deploy", dirs_exist_ok=True)
    shutil.copy(REPO_ROOT / ".env.example", workdir / ".env")
    env = {"PATH": PATH, "HOME": str(workdir), **variables}
    result = subprocess.run(
        [tool, "config"], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker-compose config failed: {result.stderr}")
    resolved = yaml.safe_load(result.stdout)
    assert isinstance(resolved, dict)
    return resolved


@dataclass(frozen=True)
class Loopback:
    """The rehearsal's network: a /24 of loopback addresses, unique to the run."""

    prefix: str

    @classmethod
    def fresh(cls) -> Loopback:
        return cls(f"127.{20 + secrets.randbelow(200)}.{1 + secrets.randbelow(250)}")

    @property
    def subnet(self) -> str:
        return f"{self.prefix}.0/24"

    def address(self, service: str) -> str:
        return f"{self.prefix}.{HOST_NUMBERS[service]}"

    @property
    def outside(self) -> str:
        """An address outside this network (a client that bypasses the proxy)."""
        _, a, b = self.prefix.split(".")
        return f"127.{int(a) + 1}.{b}.9"


@dataclass(frozen=True)
class Mount:
    volume: str
    target: str
    read_only: bool


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    """A service's named volumes (bind mounts of host files are left out)."""
    found = []
    for entry in service.get("volumes", []):
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            if source.startswith(("/", ".")):
                continue
            found.append(Mount(source, target, "ro" in mode))
        elif entry.get("type") == "volume":
            found.append(Mount(entry["source"], entry["target"], bool(entry.get("read_only"))))
    return found


@dataclass
class Rehearsal:
    compose: dict[str, Any]
    root: Path
    net: Loopback
    external: dict[Endpoint, Endpoint]  # an outside stand-in's (service, port) → where it listens
    names: dict[str, str]  # compose's database and role names → this run's
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)
    timeline: list[tuple[str, float]] = field(default_factory=list)

    def service(self, name: str) -> dict[str, Any]:
        return dict(self.compose["services"][name])

    @property
    def compose_subnet(self) -> str:
        return str(self.compose["networks"]["default"]["ipam"]["config"][0]["subnet"])

    # --- the containers' file systems --------------------------------------------------

    def container_root(self, name: str) -> Path:
        return self.root / "containers" / name

    def volume_dir(self, volume: str) -> Path:
        return self.root / "volumes" / volume

    def host_path(self, name: str, container_path: str) -> Path:
        return self.container_root(name) / container_path.lstrip("/")

    def container_path(self, name: str, host_path: Path) -> str:
        return "/" + str(host_path.relative_to(self.container_root(name)))

    def volume_at(self, name: str, container_path: str) -> str | None:
        for mount in mounts(self.service(name)):
            if container_path == mount.target or container_path.startswith(mount.target + "/"):
                return mount.volume
        return None

    def prepare(self, name: str) -> None:
        """The container's folder, with its volumes linked in where compose mounts them;
        like the image, /data and its folders exist (0700)."""
        root = self.container_root(name)
        (root / "data").mkdir(parents=True, exist_ok=True, mode=0o700)
        for mount in mounts(self.service(name)):
            volume = self.volume_dir(mount.volume)
            volume.mkdir(parents=True, exist_ok=True, mode=0o700)
            link = self.host_path(name, mount.target)
            link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not link.is_symlink():
                link.symlink_to(volume, target_is_directory=True)

    def layer_files(self, name: str) -> list[str]:
        """Files a service wrote under /data outside its volumes (lost with the container)."""
        data = self.container_root(name) / "data"
        found = []
        for folder, dirs, files in os.walk(data):  # does not follow the volume links
            found += [self.container_path(name, Path(folder) / f) for f in files]
            dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        return found

    # --- addresses and environment -----------------------------------------------------

    def endpoint(self, host: str, port: int) -> Endpoint:
        if (host, port) in self.external:
            return self.external[(host, port)]
        return self.net.address(host), port

    def localize(self, name: str, value: str) -> str:
        if value == BIND_ALL:
            return self.net.address(BINDS_FOR.get(name, name))
        if value == "/data" or value.startswith("/data/"):
            return str(self.host_path(name, value))
        if "://" in value:
            return self._url(value)
        items = [part.strip() for part in value.split(",")]
        if self.compose_subnet in items:
            return ",".join(self.net.subnet if item == self.compose_subnet else item for item in items)
        return value

    def _url(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.hostname is None or parts.hostname not in self.compose["services"]:
            return value
        host, port = self.endpoint(parts.hostname, parts.port or 80)
        netloc, path = f"{host}:{port}", parts.path
        if parts.scheme.startswith("postgres"):
            user, database = self.names[parts.username or ""], self.names[path.strip("/")]
            netloc, path = f"{user}:{parts.password}@{netloc}", f"/{database}"
        return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))

    def environment(self, name: str) -> dict[str, str]:
        """The container's environment: compose's, localized, plus what the image sets."""
        compose_env = self.service(name).get("environment") or {}
        home = self.container_root(name) / "home"
        home.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": PATH,
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO_ROOT),  # the image's /app, without a .env (.dockerignore)
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATA_DIR": str(self.host_path(name, "/data")),
            **{key: self.localize(name, str(value)) for key, value in compose_env.items()},
        }

    def argv(self, name: str, command: list[str]) -> list[str]:
        return [sys.executable if command[0] == "python" else command[0], *command[1:]]

    # --- processes ---------------------------------------------------------------------

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def spawn(self, name: str, argv: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.prepare(name)
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        command = argv or self.argv(name, self.service(name)["command"])
        with open(self.log_path(name), "ab") as log:
            self.processes[name] = subprocess.Popen(
                self.read_only(name, command),
                env=env or self.environment(name),
                cwd=self.container_root(name),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.mark(f"{name} started")

    def read_only(self, name: str, argv: list[str]) -> list[str]:
        """`argv` with the service's read-only volumes made read-only for it alone (a
        private mount namespace; needs root). Without root they stay writable."""
        volumes = [str(self.volume_dir(m.volume)) for m in mounts(self.service(name)) if m.read_only]
        if not volumes or os.geteuid() != 0 or not shutil.which("unshare"):
            return argv
        script = " && ".join([*(f'mount --bind -o ro "{v}" "{v}"' for v in volumes), 'exec "$@"'])
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]

    def logs(self, name: str, tail: int = 40) -> str:
        if not self.log_path(name).exists():
            return ""
        return "\n".join(self.log_path(name).read_text(errors="replace").splitlines()[-tail:])

    def healthy(self, name: str) -> bool:
        """Run the service's compose healthcheck, as Docker does inside the container."""
        test = [
            str(part).replace("localhost", self.net.address(name))
            for part in self.service(name)["healthcheck"]["test"]
        ]
        argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else self.argv(name, test[1:])
        if argv[0] == "curl" and not shutil.which("curl"):
            argv = [sys.executable, "-c", URLOPEN, argv[-1]]
        # Synapse's image is not ours: its healthcheck needs none of the app's environment.
        env = {"PATH": PATH} if name == "synapse" else self.environment(name)
        try:
            result = subprocess.run(
                argv, env=env, cwd=self.container_root(name), capture_output=True, timeout=10
            )
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def wait(self, what: str, done: Callable[[], bool], timeout: float, logs_of: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            process = self.processes.get(logs_of)
            if process is not None and process.poll() not in (None, 0):
                raise RuntimeError(f"{logs_of} exited with {process.returncode}:\n{self.logs(logs_of)}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{what} within {timeout:.0f} s failed; {logs_of} says:\n{self.logs(logs_of)}"
                )
            time.sleep(0.3)  # polling a process's state, as Docker's healthchecks do
        self.mark(what)

    def completed(self, name: str, timeout: float) -> None:
        process = self.processes[name]
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{name} did not finish within {timeout:.0f} s:\n{self.logs(name)}") from None
        if code != 0:
            raise RuntimeError(f"{name} exited with {code}:\n{self.logs(name)}")
        self.mark(f"{name} completed")

    def mark(self, event: str) -> None:
        if event not in dict(self.timeline):
            self.timeline.append((event, round(time.monotonic() - self.started_at, 1)))

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def start_order(compose: Mapping[str, Any], services: set[str]) -> list[str]:
    """`services` in an order that respects their `depends_on` (dependencies outside the
    rehearsal must be EXTERNAL)."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {path}"
        if name in ordered or name in EXTERNAL:
            return
        assert name in services, f"{path[-1]} depends on {name}, which the rehearsal does not run"
        for dependency in compose["services"][name].get("depends_on", {}):
            visit(dependency, (*path, name))
        ordered.append(name)

    for name in sorted(services):
        visit(name, ())
    return ordered


# --- PostgreSQL, as the compose stack's init script leaves it ---------------------------


def init_databases(compose: Mapping[str, Any], names: Mapping[str, str], log: Path) -> None:
    """Run deploy/postgres-init.sh with the postgres service's environment against the
    machine's PostgreSQL, with the run's own role and database names."""
    env = {
        **{key: str(value) for key, value in compose["services"]["postgres"]["environment"].items()},
        "PATH": PATH,
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "SYNAPSE_DB": names["synapse"],
        "APP_DB": names["app"],
    }
    result = subprocess.run(
        [str(REPO_ROOT / "deploy" / "postgres-init.sh")], env=env, capture_output=True, text=True, check=False
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"postgres-init.sh failed: {result.stderr}")


def drop_databases(names: Mapping[str, str]) -> None:
    connection = psycopg2.connect(POSTGRES_ADMIN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in names.values():
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for name in names.values():
            cursor.execute(f'DROP ROLE IF EXISTS "{name}"')
    connection.close()


def tables(database: str) -> set[str]:
    connection = psycopg2.connect(f"{POSTGRES_ADMIN.replace('dbname=postgres', '')} dbname={database}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        found = {str(row[0]) for row in cursor.fetchall()}
    connection.close()
    return found

"""A real Synapse from the pip package, in a temp dir on a free port, for the tests.

Configured by the same renderer as `make run`, plus an overlay that lifts rate limits,
and provisioned by the same bootstrap (admin, bot, #public, #gallery).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from common import secrets as app_secrets
from common.synapse_admin import wait_until_up
from stack.bootstrap import BootstrapResult, bootstrap
from stack.settings import StackSettings
from stack.synapse_config import render
from tests.ollama_double import free_port
from tests.synapse_workers import (
    RoutingProxy,
    add_replication_listener,
    create_database,
    drop_database,
    start_worker,
    worker_overlay,
)

UNLIMITED = {"per_second": 10_000, "burst_count": 10_000}
TEST_OVERLAY: dict[str, Any] = {
    "rc_message": UNLIMITED,
    "rc_registration": UNLIMITED,
    "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
    "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
    "rc_joins_per_room": UNLIMITED,
    "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
    "rc_admin_redaction": UNLIMITED,
    "rc_room_creation": UNLIMITED,
    "rc_presence": {"per_user": UNLIMITED},
    "rc_delayed_event_mgmt": UNLIMITED,
}


@dataclass
class SynapseServer:
    settings: StackSettings
    process: subprocess.Popen[bytes]
    provisioned: BootstrapResult
    log_path: Path
    # Worker mode: the proxy clients talk to, the worker process, the PostgreSQL database.
    proxy: RoutingProxy | None = None
    worker: subprocess.Popen[bytes] | None = None
    database_url: str | None = None
    worker_port: int = 0
    # On PostgreSQL runs the app database (bot memory, ledger, portal logins) is there too.
    app_database_url: str | None = None

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else self.settings.homeserver_url

    @property
    def server_name(self) -> str:
        return self.settings.server_name

    @property
    def shared_secret(self) -> str:
        return app_secrets.read_secret(self.settings.data_dir, app_secrets.REGISTRATION_SHARED_SECRET)

    def env(self) -> dict[str, str]:
        """Environment for a bot or portal process talking to this server."""
        return {
            "DATA_DIR": str(self.settings.data_dir),
            "SERVER_NAME": self.server_name,
            "SYNAPSE_PORT": str(self.settings.synapse_port),
            "SYNAPSE_PORTAL_PORT": str(self.settings.synapse_portal_port),
            "HOMESERVER_URL": self.url,
            "BOT_USERNAME": self.settings.bot_username,
            "SIGNUP_MODE": self.settings.signup_mode,
            **({"DATABASE_URL": self.app_database_url} if self.app_database_url else {}),
        }

    def stop(self) -> None:
        for process in (self.worker, self.process):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def kill(self) -> None:
        """SIGKILL, as a power cut would: no shutdown of any kind."""
        for process in (self.worker, self.process):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(5)

    async def start(self) -> None:
        """Start Synapse again on the same port and data (after `stop()` or `kill()`)."""
        self.process = _spawn(self.settings, self.log_path)
        await _wait_up(self.settings.homeserver_url)
        if self.worker is not None:
            self.worker = start_worker(
                self.settings.data_dir, self.settings.homeserver_yaml, self.worker_port
            )
            await _wait_up(f"http://127.0.0.1:{self.worker_port}")

    def shut_down(self) -> None:
        """Stop everything for good: processes, proxy, and the test database."""
        self.stop()
        if self.proxy:
            self.proxy.stop()
        for url in (self.database_url, self.app_database_url):
            if url:
                drop_database(url)


MODES = ("sqlite", "postgres", "workers")


def start_synapse(
    data_dir: Path,
    overlays: tuple[dict[str, Any], ...] = (TEST_OVERLAY,),
    mode: str = "sqlite",
    env: dict[str, str] | None = None,
) -> SynapseServer:
    """Synapse on SQLite; or on PostgreSQL; or on PostgreSQL with a generic worker and Redis."""
    assert mode in MODES, mode
    database_url = create_database() if mode in {"postgres", "workers"} else None
    settings = StackSettings.from_env(
        {
            "DATA_DIR": str(data_dir),
            "SYNAPSE_PORT": str(free_port()),
            "SYNAPSE_PORTAL_PORT": str(free_port()),
            "SYNAPSE_LOG_LEVEL": "WARNING",
            "SYNAPSE_DATABASE_URL": database_url or "",
            **(env or {}),
        }
    )
    replication_port = free_port()
    if mode == "workers":
        overlays = (*overlays, worker_overlay(replication_port))
    config_path = render(settings, overlays=overlays)
    if mode == "workers":
        add_replication_listener(config_path, replication_port)
    log_path = data_dir / "synapse.log"
    process = _spawn(settings, log_path)

    async def provision() -> BootstrapResult:
        async with aiohttp.ClientSession() as session:
            return await bootstrap(settings, session)

    try:
        provisioned = asyncio.run(provision())
    except BaseException:
        process.kill()
        raise
    server = SynapseServer(
        settings,
        process,
        provisioned,
        log_path,
        database_url=database_url,
        app_database_url=create_database() if database_url else None,
    )
    if mode == "workers":
        server.worker_port = free_port()
        server.worker = start_worker(data_dir, config_path, server.worker_port)
        asyncio.run(_wait_up(f"http://127.0.0.1:{server.worker_port}"))
        server.proxy = RoutingProxy(settings.homeserver_url, f"http://127.0.0.1:{server.worker_port}").start()
    return server


def _spawn(settings: StackSettings, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(settings.homeserver_yaml)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=settings.data_dir,
        )


async def _wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, url, timeout=60)

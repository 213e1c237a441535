"""Synapse grown past one process, for the tests: PostgreSQL (psycopg2), Redis
replication, and one `generic_worker` serving /sync and the client API behind a small
reverse proxy that sends everything else to the main process."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
import yaml
from aiohttp import web

from tests.ollama_double import free_port

POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

# What the generic worker answers; the rest goes to the main process.
WORKER_PATHS = re.compile(
    r"^/_matrix/client/(api/v1|r0|v3|unstable)/("
    r"sync|events|initialSync|login|joined_rooms|publicRooms|profile/.*|"
    r"keys/(query|changes|claim)|"
    r"rooms/[^/]+/(messages|context/.*|members|joined_members|state|state/.*|event/.*|send/.*|redact/.*|join|invite|leave)|"
    r"join/.*|createRoom|user/[^/]+/filter(/.*)?"
    r")$"
)


def create_database() -> str:
    """A fresh PostgreSQL database with the C collation Synapse requires; returns its URL."""
    name = f"synapse_test_{uuid.uuid4().hex[:10]}"
    connection = psycopg2.connect(POSTGRES_ADMIN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'"
        )
    connection.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = psycopg2.connect(POSTGRES_ADMIN)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    connection.close()


def worker_overlay(replication_port: int) -> dict[str, Any]:
    """Main-process settings for replication over Redis."""
    return {
        "redis": {"enabled": True, "host": "127.0.0.1", "port": 6379, "dbid": 0},
        "instance_map": {"main": {"host": "127.0.0.1", "port": replication_port}},
        "worker_replication_secret": uuid.uuid4().hex,
    }


def add_replication_listener(config_path: Path, replication_port: int) -> None:
    config = yaml.safe_load(config_path.read_text())
    config["listeners"].append(
        {
            "port": replication_port,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "resources": [{"names": ["replication"]}],
        }
    )
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def start_worker(data_dir: Path, config_path: Path, worker_port: int) -> subprocess.Popen[bytes]:
    worker = {
        "worker_app": "synapse.app.generic_worker",
        "worker_name": "generic_worker1",
        "worker_listeners": [
            {
                "type": "http",
                "port": worker_port,
                "bind_addresses": ["127.0.0.1"],
                "resources": [{"names": ["client"]}],
            }
        ],
        "worker_log_config": str(config_path.parent / "log.config"),
    }
    worker_path = data_dir / "worker.yaml"
    worker_path.write_text(yaml.safe_dump(worker))
    with open(data_dir / "worker.log", "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.generic_worker",
                "-c",
                str(config_path),
                "-c",
                str(worker_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )


class RoutingProxy:
    """A small reverse proxy on a thread of its own: worker paths to the worker."""

    def __init__(self, main_url: str, worker_url: str) -> None:
        self.main_url, self.worker_url = main_url, worker_url
        self.port = free_port()
        self.routed_to_worker = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RoutingProxy:
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True, name="synapse-proxy").start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_startup.append(self._open_session)
        app.on_cleanup.append(self._close_session)
        self._runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        ready.set()
        loop.run_forever()

    async def _open_session(self, app: web.Application) -> None:
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None)
        )

    async def _close_session(self, app: web.Application) -> None:
        await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        to_worker = bool(WORKER_PATHS.match(request.path))
        self.routed_to_worker += to_worker
        target = (self.worker_url if to_worker else self.main_url) + request.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        body = await request.read()
        async with self._session.request(
            request.method, target, headers=headers, data=body or None
        ) as upstream:
            payload = await upstream.read()
            skip = {"content-length", "transfer-encoding", "connection", "content-encoding"}
            response = web.Response(
                status=upstream.status,
                body=payload,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in skip},
            )
            if "Content-Encoding" in upstream.headers:
                response.headers["Content-Encoding"] = upstream.headers["Content-Encoding"]
            return response

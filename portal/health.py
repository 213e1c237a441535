"""`GET /healthz` (liveness: the portal answers, with the state of what it depends on)
and `GET /readyz` (readiness: 200 only once the rooms exist and the bot has joined them
and synced, 503 before). Both answer from a result a few seconds old at most, computed
by one check at a time, so anonymous callers cannot multiply outbound requests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text

from appdb.heartbeats import HeartbeatStore
from common.matrix_ids import segment
from portal.app_keys import DB_ENGINE, HTTP, OLLAMA_SERVERS, SETTINGS

CHECK_TTL_S = 5.0
BOT_HEARTBEAT_MAX_AGE_S = 90.0
PLATFORM_ROOMS = ("public", "gallery")


async def _check_http(session: aiohttp.ClientSession, url: str, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            ok = response.status == 200
            detail = f"HTTP {response.status}"
    except (TimeoutError, aiohttp.ClientError) as error:
        ok, detail = False, type(error).__name__
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _check_database(app: web.Application) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with app[DB_ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
        ok, detail = True, "ok"
    except Exception as error:  # any driver error means the database is not usable
        ok, detail = False, type(error).__name__
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def dependency_status(app: web.Application) -> dict[str, dict[str, Any]]:
    settings = app[SETTINGS]
    session = app[HTTP]
    homeserver, ollama, database = await asyncio.gather(
        _check_http(session, f"{settings.homeserver_url}/_matrix/client/versions", settings.check_timeout),
        model_tier_status(app),
        _check_database(app),
    )
    return {"homeserver": homeserver, "ollama": ollama, "database": database}


async def model_tier_status(app: web.Application) -> dict[str, Any]:
    """Each Ollama server: does it answer, does it have the default model, and if not,
    what whoever runs the server should do. `ok` when one of them can answer."""
    servers = app[OLLAMA_SERVERS]
    model = app[SETTINGS].ollama_model
    started = time.perf_counter()
    await servers.refresh(force=True)
    rows = []
    for server in servers.servers:
        if not server.up:
            fix = f"start Ollama at {server.url} (`ollama serve`), or point OLLAMA_BASE_URL at it"
        elif not server.has(model):
            fix = f"fetch the model there: `ollama pull {model.removesuffix(':latest')}`"
        else:
            fix = ""
        rows.append({"url": server.url, "ok": not fix, "detail": server.problem or "ok", "fix": fix})
    ms = round((time.perf_counter() - started) * 1000, 1)
    fixes = [str(row["fix"]) for row in rows if row["fix"]]
    ok = any(row["ok"] for row in rows)
    return {"ok": ok, "detail": "ok" if ok else "; ".join(fixes), "ms": ms, "servers": rows}


async def readiness(app: web.Application) -> dict[str, Any]:
    """Ready: the homeserver answers, the platform rooms exist, and the bot says it has
    joined them and synced (its heartbeat in the app database, recent)."""
    settings = app[SETTINGS]
    session = app[HTTP]
    rooms: dict[str, bool] = {}
    for name in PLATFORM_ROOMS:
        alias = f"#{name}:{settings.server_name}"
        url = f"{settings.homeserver_url}/_matrix/client/v3/directory/room/{segment(alias)}"
        rooms[alias] = bool((await _check_http(session, url, settings.check_timeout))["ok"])
    try:
        beat = await HeartbeatStore(app[DB_ENGINE]).read("bot")
    except Exception:
        beat = None
    bot_ready = beat is not None and beat.ready and beat.fresh(BOT_HEARTBEAT_MAX_AGE_S)
    return {"ready": all(rooms.values()) and bot_ready, "rooms": rooms, "bot": bot_ready}


class CachedCheck:
    """A check's result, reused for `CHECK_TTL_S`; concurrent callers share one run."""

    def __init__(self, check: Callable[[web.Application], Awaitable[dict[str, Any]]]) -> None:
        self._check = check
        self._result: dict[str, Any] | None = None
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, app: web.Application) -> dict[str, Any]:
        async with self._lock:
            if self._result is None or time.monotonic() - self._at >= CHECK_TTL_S:
                self._result = await self._check(app)
                self._at = time.monotonic()
            return self._result


HEALTH_CHECK = web.AppKey("health_check", CachedCheck)
READY_CHECK = web.AppKey("ready_check", CachedCheck)


def install(app: web.Application) -> None:
    app[HEALTH_CHECK] = CachedCheck(dependency_status)
    app[READY_CHECK] = CachedCheck(readiness)
    app[OLLAMA_STATUS] = OllamaStatus()


async def healthz(request: web.Request) -> web.Response:
    checks = await request.app[HEALTH_CHECK].get(request.app)
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return web.json_response({"status": status, "checks": checks})


async def readyz(request: web.Request) -> web.Response:
    state = await request.app[READY_CHECK].get(request.app)
    return web.json_response(state, status=200 if state["ready"] else 503)


OLLAMA_STATUS_EVERY_S = 10.0


class OllamaStatus:
    """Whether the model tier can answer (for the pages' offline banner, with what to do
    about it), refreshed in the background every few seconds: rendering a page never waits
    for Ollama, and callers cannot make the portal send more checks by sending more requests."""

    def __init__(self) -> None:
        self.up = True
        self.advice = ""

    async def refresh_forever(self, app: web.Application) -> None:
        while True:
            status = await model_tier_status(app)
            self.up, self.advice = status["ok"], "" if status["ok"] else status["detail"]
            await asyncio.sleep(OLLAMA_STATUS_EVERY_S)


OLLAMA_STATUS = web.AppKey("ollama_status", OllamaStatus)


async def watch_ollama(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[OLLAMA_STATUS].refresh_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

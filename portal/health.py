"""`GET /healthz`: the portal is up (200), with the state of what it depends on."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text

from portal.keys import DB_ENGINE, HTTP, SETTINGS


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
        _check_http(session, f"{settings.ollama_base_url}/api/version", settings.check_timeout),
        _check_database(app),
    )
    return {"homeserver": homeserver, "ollama": ollama, "database": database}


async def healthz(request: web.Request) -> web.Response:
    checks = await dependency_status(request.app)
    status = "ok" if all(check["ok"] for check in checks.values()) else "degraded"
    return web.json_response({"status": status, "checks": checks})


OLLAMA_STATUS_TTL_S = 10.0


class OllamaStatus:
    """Whether Ollama answers, remembered for a few seconds (for the offline banner), so
    rendering pages does not add a request to Ollama each time."""

    def __init__(self) -> None:
        self._checked_at = float("-inf")
        self._up = False

    async def up(self, app: web.Application) -> bool:
        if time.monotonic() - self._checked_at >= OLLAMA_STATUS_TTL_S:
            settings = app[SETTINGS]
            url = f"{settings.ollama_base_url}/api/version"
            self._up = bool((await _check_http(app[HTTP], url, settings.check_timeout))["ok"])
            self._checked_at = time.monotonic()
        return self._up


OLLAMA_STATUS = web.AppKey("ollama_status", OllamaStatus)

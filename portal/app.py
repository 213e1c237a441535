"""The app factory: `create_app(settings)` wires settings, resources and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from appdb.engine import create_schema, make_engine
from portal import health, pages
from portal.config import PortalSettings
from portal.keys import DB_ENGINE, HTTP, SETTINGS

HERE = Path(__file__).parent


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        yield


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = make_engine(app[SETTINGS].database_url)
    await create_schema(engine)
    app[DB_ENGINE] = engine
    yield
    await engine.dispose()


def create_app(settings: PortalSettings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app.cleanup_ctx.extend([_http_client, _database])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app.router.add_get("/", pages.home, name="home")
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_static("/static/", HERE / "static", name="static")
    return app

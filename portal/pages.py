"""Plain pages: the home page."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from portal.accounts.views import take_flash
from portal.app_keys import SETTINGS


@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    settings = request.app[SETTINGS]
    return {
        "homeserver_url": settings.public_homeserver_url,
        "bot_user_id": settings.bot_user_id,
        "flash": await take_flash(request),
    }

"""Typed keys for the state the app factory puts on the application."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.config import PortalSettings

SETTINGS = web.AppKey("settings", PortalSettings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
DB_ENGINE = web.AppKey("db_engine", AsyncEngine)

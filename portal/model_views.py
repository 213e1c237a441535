"""Choose the model the assistant uses for you (the same setting as the bot's `!model`)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.ollama_catalogue import ModelInfo, OllamaUnavailable
from portal.keys import CATALOGUE, SETTINGS, USER_SETTINGS, require_user


def _size(info: ModelInfo) -> str:
    return f"{info.size_bytes / 1e9:.1f} GB" if info.size_bytes else "unknown size"


async def _page(request: web.Request, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    user = require_user(request)
    current = await request.app[USER_SETTINGS].get_model(user.user_id) or request.app[SETTINGS].ollama_model
    try:
        models = await request.app[CATALOGUE].describe()
        offline = False
    except OllamaUnavailable:
        models, offline = [], True
    rows = [{"name": m.name, "size": _size(m), "vision": m.vision} for m in models]
    return {"models": rows, "current": current, "offline": offline, "message": message, "error": error}


@aiohttp_jinja2.template("models.html")
async def models_page(request: web.Request) -> dict[str, Any]:
    return await _page(request)


async def choose_model(request: web.Request) -> web.Response:
    user = require_user(request)
    wanted = str((await request.post()).get("model", ""))
    try:
        available = await request.app[CATALOGUE].names()
    except OllamaUnavailable:
        context = await _page(request, error="The AI service is offline, so your choice was not changed.")
        return aiohttp_jinja2.render_template("models.html", request, context, status=503)
    if wanted not in available:
        context = await _page(request, error=f"Ollama has no model called {wanted!r}.")
        return aiohttp_jinja2.render_template("models.html", request, context, status=400)
    await request.app[USER_SETTINGS].set_model(user.user_id, wanted)
    context = await _page(request, message=f"Saved: the assistant now answers you with {wanted}.")
    return aiohttp_jinja2.render_template("models.html", request, context)

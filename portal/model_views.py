"""Choose the model the assistant uses for you (the same setting as the bot's `!model`)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.ollama_catalogue import ModelInfo, OllamaUnavailable
from portal.keys import CATALOGUE, SETTINGS, USER_SETTINGS, require_user
from portal.logins import PortalUser


class ModelRefused(Exception):
    """A model choice that was not saved, with the HTTP status that says why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def current_model(request: web.Request, user: PortalUser) -> str:
    return await request.app[USER_SETTINGS].get_model(user.user_id) or request.app[SETTINGS].ollama_model


async def save_choice(request: web.Request, user: PortalUser, wanted: object) -> str:
    """Save `wanted` as the user's model if Ollama has it (the same setting as `!model`)."""
    try:
        available = await request.app[CATALOGUE].names()
    except OllamaUnavailable as error:
        raise ModelRefused("The AI service is offline, so your choice was not changed.", 503) from error
    if not isinstance(wanted, str) or wanted not in available:
        raise ModelRefused(f"Ollama has no model called {wanted!r}.", 400)
    await request.app[USER_SETTINGS].set_model(user.user_id, wanted)
    return wanted


def _size(info: ModelInfo) -> str:
    return f"{info.size_bytes / 1e9:.1f} GB" if info.size_bytes else "unknown size"


async def _page(request: web.Request, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    user = require_user(request)
    current = await current_model(request, user)
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
        await save_choice(request, user, wanted)
    except ModelRefused as refused:
        context = await _page(request, error=str(refused))
        return aiohttp_jinja2.render_template("models.html", request, context, status=refused.status)
    context = await _page(request, message=f"Saved: the assistant now answers you with {wanted}.")
    return aiohttp_jinja2.render_template("models.html", request, context)

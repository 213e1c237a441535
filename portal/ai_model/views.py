"""Choose the model the assistant uses for you (the same choice as the bot's `!model`;
common.model_choice owns it and its name rule, so `llama3` works here too)."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from common.assistant_policy import Quota, quota_left
from common.model_choice import UnknownModel
from common.ollama_catalogue import ModelInfo, OllamaUnavailable
from portal.accounts.logins import PortalUser
from portal.app_keys import MODEL_CHOICE, POLICY, USAGE, require_user


class ModelRefused(Exception):
    """A model choice that was not saved, with the HTTP status that says why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def save_choice(request: web.Request, user: PortalUser, wanted: object) -> str:
    """Save `wanted` as the person's model; ModelRefused says why not."""
    try:
        return await request.app[MODEL_CHOICE].choose(user.user_id, wanted if isinstance(wanted, str) else "")
    except OllamaUnavailable as error:
        raise ModelRefused("The AI service is offline, so your choice was not changed.", 503) from error
    except UnknownModel:
        raise ModelRefused(f"There is no model called {wanted!r} to choose here.", 400) from None


def _size(info: ModelInfo) -> str:
    return f"{info.size_bytes / 1e9:.1f} GB" if info.size_bytes else "unknown size"


async def _page(request: web.Request, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    user = require_user(request)
    current = await request.app[MODEL_CHOICE].current(user.user_id)
    try:
        models = await request.app[MODEL_CHOICE].offered_models()
        offline = False
    except OllamaUnavailable:
        models, offline = [], True
    rows = [{"name": m.name, "size": _size(m), "vision": m.vision} for m in models]
    policy = await request.app[POLICY].current()
    left = None
    if policy.quota != Quota():
        left = quota_left(policy.quota, await request.app[USAGE].used(user.user_id))
    return {
        "models": rows,
        "current": current,
        "offline": offline,
        "message": message,
        "error": error,
        "quota_left": left,
    }


@aiohttp_jinja2.template("models.html")
async def models_page(request: web.Request) -> dict[str, Any]:
    return await _page(request)


async def choose_model(request: web.Request) -> web.Response:
    user = require_user(request)
    wanted = str((await request.post()).get("model", ""))
    try:
        chosen = await save_choice(request, user, wanted)
    except ModelRefused as refused:
        context = await _page(request, error=str(refused))
        return aiohttp_jinja2.render_template("models.html", request, context, status=refused.status)
    context = await _page(request, message=f"Saved: the assistant now answers you with {chosen}.")
    return aiohttp_jinja2.render_template("models.html", request, context)

"""The person's AI model page (the same choice as `!model`, owned by common.model_choice)."""

from __future__ import annotations

from aiohttp import web

from portal.ai_model import views


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/models", views.models_page)
    router.add_post("/models", views.choose_model)

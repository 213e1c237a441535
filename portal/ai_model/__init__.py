"""The person's AI model page (the same choice as `!model`, owned by common.model_choice)."""

from __future__ import annotations

from aiohttp import web


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the login
    # store, say) never drags in the views and the app keys they import.
    from portal.ai_model import views

    router.add_get("/models", views.models_page)
    router.add_post("/models", views.choose_model)

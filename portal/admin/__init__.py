"""The admin area: people, invitation codes and the audit log, for the portal's admins
only (`roles`), acting on Synapse through its admin API (`homeserver`)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

TEMPLATES = Path(__file__).parent / "templates"


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the roles
    # store, say) never drags in the views and the app keys they import.
    from portal.admin import assistant_views, views

    views.add_routes(router)
    assistant_views.add_routes(router)

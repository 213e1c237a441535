"""The media gallery: #gallery's posts, uploads checked in a worker process, media served
through the portal, the daily caps. Its script lives in `static/`, its pages in
`templates/`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the login
    # store, say) never drags in the views and the app keys they import.
    from portal.gallery import views

    router.add_get("/gallery", views.gallery_page)
    router.add_post("/gallery/join", views.join_gallery)
    router.add_post("/gallery/upload", views.upload)
    router.add_get("/gallery/view/{event_id}", views.viewer)
    router.add_post("/gallery/{event_id}/delete", views.delete)
    router.add_get("/media/{server}/{media_id}", views.media)
    router.add_static("/static/gallery/", STATIC, name="gallery-static")

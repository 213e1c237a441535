"""Room knowledge: the files of each of the person's rooms that the assistant reads and
answers from (kept by appdb.knowledge, indexed by the bot), with their state, an upload
form that posts a file in a room as the person, and deletion by its uploader or a room
moderator. Its page lives in `templates/`."""

from __future__ import annotations

from aiohttp import web


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the file
    # kinds, say) never drags in the views and the app keys they import.
    from portal.knowledge import upload, views

    router.add_get("/knowledge", views.knowledge_page)
    router.add_post("/knowledge/upload", upload.upload)
    router.add_post("/knowledge/files/{event_id}/delete", views.delete_file)

"""My AI conversations: what the assistant remembers about the person, per room, read,
downloaded and forgotten through the one conversation store (appdb.conversations), and
beside it what each room shares with everyone in it (its notes and persona)."""

from __future__ import annotations

from aiohttp import web


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the login
    # store, say) never drags in the views and the app keys they import.
    from portal.conversations import downloads, views

    router.add_get("/conversations", views.conversations_page)
    router.add_post("/conversations/direct-chat", views.open_direct_chat)
    router.add_get("/conversations/{room_id}", views.conversation_page)
    router.add_get("/conversations/{room_id}/export.{kind:md|json}", downloads.export_conversation)
    router.add_post("/conversations/{room_id}/delete", views.delete_conversation)

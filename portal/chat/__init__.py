"""The chat in the browser: the page, its JSON API, the live stream (a per-browser relay
of the person's sync), and the pure descriptions of rooms, events and names the page is
given. Its JavaScript lives in `static/`, beside the Python it talks to."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the login
    # store, say) never drags in the views and the app keys they import.
    from portal.chat import stream, views

    router.add_get("/chat", views.chat_page)
    router.add_post("/chat/ai", views.ai_chat)
    router.add_get("/chat/api/stream", stream.chat_stream)
    router.add_get("/chat/api/session", views.session)
    router.add_get("/chat/api/rooms/{room_id}/messages", views.history)
    router.add_post("/chat/api/rooms/{room_id}/send", views.send_message)
    router.add_post("/chat/api/rooms/{room_id}/read", views.mark_read)
    router.add_post("/chat/api/rooms/{room_id}/typing", views.set_typing)
    router.add_post("/chat/api/rooms/{room_id}/forget", views.forget_conversation)
    router.add_post("/chat/api/join", views.join_room)
    router.add_post("/chat/api/direct", views.start_direct_chat)
    router.add_get("/chat/api/directory", views.directory)
    router.add_get("/chat/api/models", views.models)
    router.add_post("/chat/api/model", views.choose_model)
    router.add_static("/static/chat/", STATIC, name="chat-static")

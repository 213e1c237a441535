"""The app factory: `create_app(settings)` wires settings, resources, middlewares and routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from appdb.engine import create_schema, make_engine
from appdb.user_settings import UserSettingsStore
from common.ollama_catalogue import ModelCatalogue
from common.synapse_errors import SynapseError
from portal import (
    auth_views,
    chat_stream,
    chat_views,
    conversation_views,
    gallery_views,
    health,
    media_worker,
    model_views,
    pages,
)
from portal.auth_views import SESSION_USER
from portal.config import PortalSettings
from portal.errors import error_pages
from portal.keys import (
    CATALOGUE,
    DB_ENGINE,
    HTTP,
    LOGIN_ACCOUNT_THROTTLE,
    LOGIN_ADDRESS_THROTTLE,
    LOGINS,
    MATRIX,
    MEDIA_SLOTS,
    POOLS,
    SETTINGS,
    SIGNUP_THROTTLE,
    USER,
    USER_SETTINGS,
)
from portal.logins import LoginStore
from portal.matrix import Pools, UserMatrix
from portal.security import FORM_BODY_LIMIT, body_limits, csrf_protection, csrf_token, security_headers
from portal.throttle import PerUserSlots, Throttle

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_MAX_AGE_S = 30 * 24 * 3600
MEDIA_DOWNLOADS_PER_USER = 4
SWEEP_EVERY_S = 60.0


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    pools = Pools.open()
    app[POOLS] = pools
    app[HTTP] = pools.api
    app[MATRIX] = UserMatrix(pools, app[SETTINGS].homeserver_url)
    yield
    await pools.close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(settings.database_url)
    await create_schema(engine)
    app[DB_ENGINE] = engine
    app[LOGINS] = LoginStore(engine, settings.token_key(), settings.session_idle_s, settings.session_max_s)
    app[USER_SETTINGS] = UserSettingsStore(engine)
    yield
    await engine.dispose()


async def sweep_sessions(app: web.Application, now: datetime | None = None) -> int:
    """End the sessions that expired, logging their Matrix devices out; returns how many."""
    ended = await app[LOGINS].take_expired(now)
    for user in ended:
        with contextlib.suppress(SynapseError, OSError, TimeoutError):
            await app[MATRIX].logout(user.access_token)
    if ended:
        log.info("ended %d expired portal sessions", len(ended))
    return len(ended)


async def _session_sweeper(app: web.Application) -> AsyncIterator[None]:
    async def sweep_forever() -> None:
        while True:
            try:
                await sweep_sessions(app)
            except Exception:
                log.exception("could not sweep expired sessions")
            await asyncio.sleep(SWEEP_EVERY_S)

    task = asyncio.create_task(sweep_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@web.middleware
async def load_user(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    session = await get_session(request)
    session_id = session.get(SESSION_USER)
    user = await request.app[LOGINS].find(session_id) if isinstance(session_id, str) else None
    if user is not None:
        request[USER] = user
    return await handler(request)


async def _template_context(request: web.Request) -> dict[str, object]:
    session = await get_session(request)
    return {
        "user": request.get(USER),
        "csrf_token": csrf_token(session),
        "server_name": request.app[SETTINGS].server_name,
        "ai_offline": not request.app[health.OLLAMA_STATUS].up,
    }


def _session_key(secret: str) -> bytes:
    """32 bytes derived from the per-install secret in $DATA_DIR/secrets/portal."""
    return hashlib.sha256(secret.encode()).digest()


def create_app(settings: PortalSettings) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=FORM_BODY_LIMIT)
    app[SETTINGS] = settings
    health.install(app)
    app[CATALOGUE] = ModelCatalogue(settings.ollama_base_url, settings.check_timeout)
    app[SIGNUP_THROTTLE] = Throttle(settings.signup_rate)
    app[LOGIN_ADDRESS_THROTTLE] = Throttle(settings.login_rate_per_address)
    app[LOGIN_ACCOUNT_THROTTLE] = Throttle(settings.login_rate_per_account)
    app[MEDIA_SLOTS] = PerUserSlots(MEDIA_DOWNLOADS_PER_USER)
    storage = EncryptedCookieStorage(
        _session_key(settings.session_key()),
        cookie_name="portal_session",
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
        max_age=SESSION_MAX_AGE_S,
    )
    setup_sessions(app, storage)
    app.middlewares.extend([load_user, error_pages, body_limits, csrf_protection])
    app.cleanup_ctx.extend(
        [
            _http_client,
            _database,
            health.watch_ollama,
            _session_sweeper,
            chat_stream.track_open_streams,
            media_worker.checker_pool,
            gallery_views.upload_folder,
        ]
    )
    app.on_shutdown.append(chat_stream.close_open_streams)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        context_processors=[_template_context],
    )
    _routes(app)
    return app


def _routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", pages.home, name="home")
    router.add_get("/healthz", health.healthz, name="healthz")
    router.add_get("/readyz", health.readyz, name="readyz")
    router.add_get("/signup", auth_views.signup_form)
    router.add_post("/signup", auth_views.signup)
    router.add_get("/login", auth_views.login_form)
    router.add_post("/login", auth_views.login_view)
    router.add_post("/logout", auth_views.logout)
    router.add_get("/models", model_views.models_page)
    router.add_post("/models", model_views.choose_model)
    router.add_get("/conversations", conversation_views.conversations_page)
    router.add_post("/conversations/direct-chat", conversation_views.open_direct_chat)
    router.add_get("/conversations/{room_id}", conversation_views.conversation_page)
    router.add_post("/conversations/{room_id}/delete", conversation_views.delete_conversation)
    router.add_get("/chat", chat_views.chat_page)
    router.add_post("/chat/ai", chat_views.ai_chat)
    router.add_get("/chat/api/stream", chat_stream.chat_stream)
    router.add_get("/chat/api/session", chat_views.session)
    router.add_get("/chat/api/rooms/{room_id}/messages", chat_views.history)
    router.add_post("/chat/api/rooms/{room_id}/send", chat_views.send_message)
    router.add_post("/chat/api/rooms/{room_id}/read", chat_views.mark_read)
    router.add_post("/chat/api/rooms/{room_id}/typing", chat_views.set_typing)
    router.add_post("/chat/api/join", chat_views.join_room)
    router.add_post("/chat/api/direct", chat_views.start_direct_chat)
    router.add_get("/chat/api/directory", chat_views.directory)
    router.add_get("/chat/api/models", chat_views.models)
    router.add_post("/chat/api/model", chat_views.choose_model)
    router.add_get("/gallery", gallery_views.gallery_page)
    router.add_post("/gallery/join", gallery_views.join_gallery)
    router.add_post("/gallery/upload", gallery_views.upload)
    router.add_get("/gallery/view/{event_id}", gallery_views.viewer)
    router.add_post("/gallery/{event_id}/delete", gallery_views.delete)
    router.add_get("/media/{server}/{media_id}", gallery_views.media)
    router.add_static("/static/", HERE / "static", name="static")

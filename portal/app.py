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

from appdb.answers import AnswerStore
from appdb.conversations import ConversationStore
from appdb.engine import create_schema, make_engine
from appdb.knowledge import KnowledgeStore
from appdb.policy_store import PolicyStore
from appdb.room_notes import RoomNotesStore
from appdb.usage import UsageStore
from appdb.user_settings import UserSettingsStore
from common.model_choice import ModelChoice
from common.ollama_catalogue import ModelCatalogue
from common.ollama_servers import OllamaServers
from common.synapse_errors import SynapseError
from portal import accounts, admin, ai_model, chat, conversations, gallery, health, knowledge, pages, uploads
from portal.accounts.logins import LoginStore
from portal.accounts.views import SESSION_USER
from portal.admin.audit import AuditLog
from portal.admin.roles import AdminRoles
from portal.app_keys import (
    ADMIN_ROLES,
    ANSWERS,
    AUDIT,
    CATALOGUE,
    CONVERSATIONS,
    DB_ENGINE,
    HTTP,
    INVITE_THROTTLE,
    KNOWLEDGE,
    LOGIN_ACCOUNT_THROTTLE,
    LOGIN_ADDRESS_THROTTLE,
    LOGINS,
    MATRIX,
    MEDIA_SLOTS,
    MODEL_CHOICE,
    OLLAMA_SERVERS,
    POLICY,
    POOLS,
    ROOM_NOTES,
    SETTINGS,
    SIGNUP_THROTTLE,
    UPLOADS_FOLDER,
    USAGE,
    USER,
)
from portal.chat import stream as chat_stream
from portal.config import PortalSettings
from portal.errors import error_pages
from portal.gallery import media_worker
from portal.gallery import views as gallery_views
from portal.matrix import Pools, UserMatrix
from portal.security import FORM_BODY_LIMIT, body_limits, csrf_protection, csrf_token, security_headers
from portal.throttle import PerUserSlots, Throttle

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# The site's own pages (base, home, errors), then each area's.
TEMPLATE_FOLDERS = [HERE / "templates"] + [
    HERE / area / "templates"
    for area in ("accounts", "ai_model", "conversations", "chat", "gallery", "knowledge", "admin")
]
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
    app[POLICY] = PolicyStore(engine)
    app[USAGE] = UsageStore(engine)
    app[ANSWERS] = AnswerStore(engine)
    app[MODEL_CHOICE] = ModelChoice(
        UserSettingsStore(engine), app[CATALOGUE], settings.ollama_model, allow_list=app[POLICY]
    )
    app[CONVERSATIONS] = ConversationStore(engine)
    app[ADMIN_ROLES] = AdminRoles(engine, settings.admin_users)
    app[AUDIT] = AuditLog(engine)
    app[KNOWLEDGE] = KnowledgeStore(engine)
    app[ROOM_NOTES] = RoomNotesStore(engine)
    yield
    await engine.dispose()


async def _uploads_folder(app: web.Application) -> AsyncIterator[None]:
    app[UPLOADS_FOLDER] = uploads.prepare_folder(app[SETTINGS].data_dir)
    yield


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
    user = request.get(USER)
    return {
        "user": user,
        "is_admin": user is not None and await request.app[ADMIN_ROLES].is_admin(user.user_id),
        "signup_mode": request.app[SETTINGS].signup_mode,
        "csrf_token": csrf_token(session),
        "server_name": request.app[SETTINGS].server_name,
        "ai_offline": not request.app[health.OLLAMA_STATUS].up,
        "ai_advice": request.app[health.OLLAMA_STATUS].advice,
    }


def _session_key(secret: str) -> bytes:
    """32 bytes derived from the per-install secret in $DATA_DIR/secrets/portal."""
    return hashlib.sha256(secret.encode()).digest()


def create_app(settings: PortalSettings) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=FORM_BODY_LIMIT)
    app[SETTINGS] = settings
    health.install(app)
    app[OLLAMA_SERVERS] = OllamaServers(settings.ollama_urls, settings.check_timeout)
    app[CATALOGUE] = ModelCatalogue(app[OLLAMA_SERVERS])
    app[SIGNUP_THROTTLE] = Throttle(settings.signup_rate)
    app[LOGIN_ADDRESS_THROTTLE] = Throttle(settings.login_rate_per_address)
    app[LOGIN_ACCOUNT_THROTTLE] = Throttle(settings.login_rate_per_account)
    app[INVITE_THROTTLE] = Throttle(settings.invite_tries)
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
            _uploads_folder,
            gallery_views.upload_counts,
        ]
    )
    app.on_shutdown.append(chat_stream.close_open_streams)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder) for folder in TEMPLATE_FOLDERS]),
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
    for area in (accounts, ai_model, conversations, chat, gallery, knowledge, admin):
        area.add_routes(router)
    router.add_static("/static/", HERE / "static", name="static")

"""Typed keys for the state the app factory puts on the application."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.answers import AnswerStore
from appdb.conversations import ConversationStore
from appdb.knowledge import KnowledgeStore
from appdb.policy_store import PolicyStore
from appdb.room_notes import RoomNotesStore
from appdb.usage import UsageStore
from common.model_choice import ModelChoice
from common.ollama_catalogue import ModelCatalogue
from common.ollama_servers import OllamaServers
from portal.accounts.logins import LoginStore, PortalUser
from portal.admin.audit import AuditLog
from portal.admin.roles import AdminRoles
from portal.config import PortalSettings
from portal.matrix import Pools, UserMatrix
from portal.throttle import PerUserSlots, Throttle

SETTINGS = web.AppKey("settings", PortalSettings)
HTTP = web.AppKey("http", aiohttp.ClientSession)  # short calls: health, sign-up, login
POOLS = web.AppKey("pools", Pools)
DB_ENGINE = web.AppKey("db_engine", AsyncEngine)
LOGINS = web.AppKey("logins", LoginStore)
MODEL_CHOICE = web.AppKey("model_choice", ModelChoice)
CONVERSATIONS = web.AppKey("conversations", ConversationStore)
MATRIX = web.AppKey("matrix", UserMatrix)
CATALOGUE = web.AppKey("catalogue", ModelCatalogue)
OLLAMA_SERVERS = web.AppKey("ollama_servers", OllamaServers)
SIGNUP_THROTTLE = web.AppKey("signup_throttle", Throttle)
LOGIN_ADDRESS_THROTTLE = web.AppKey("login_address_throttle", Throttle)
LOGIN_ACCOUNT_THROTTLE = web.AppKey("login_account_throttle", Throttle)
ADMIN_ROLES = web.AppKey("admin_roles", AdminRoles)
AUDIT = web.AppKey("audit_log", AuditLog)  # admin actions
POLICY = web.AppKey("policy", PolicyStore)  # the assistant's access, quota and models
USAGE = web.AppKey("usage", UsageStore)
ANSWERS = web.AppKey("answers", AnswerStore)
INVITE_THROTTLE = web.AppKey("invite_throttle", Throttle)  # invitation codes tried per address
MEDIA_SLOTS = web.AppKey("media_slots", PerUserSlots)  # media downloads in flight, per person
UPLOADS_FOLDER = web.AppKey("uploads_folder", Path)  # files being uploaded (portal.uploads)
KNOWLEDGE = web.AppKey("knowledge", KnowledgeStore)  # the files of each room's knowledge
ROOM_NOTES = web.AppKey("room_notes", RoomNotesStore)  # what each room asked the assistant to remember

# Per request: the logged-in user (absent for visitors).
USER = web.RequestKey("portal_user", PortalUser)


def current_user(request: web.Request) -> PortalUser | None:
    return request.get(USER)


def require_user(request: web.Request) -> PortalUser:
    user = current_user(request)
    if user is None:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    return user

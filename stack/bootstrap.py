"""First-start provisioning: wait for Synapse, make sure the admin and bot accounts
exist, lift the bot's rate limit, create `#public` and `#gallery`, and give the portal
the registration token it signs people up with.

Every step is idempotent, so it runs on every start. It reaches Synapse at
`HOMESERVER_URL` (the `synapse` service on the compose path).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import aiohttp

from common import secrets as app_secrets
from common import synapse_client
from common.matrix_ids import segment
from common.synapse_admin import (
    UserInUse,
    ensure_registration_token,
    login,
    override_ratelimit,
    register_user,
    wait_until_up,
)
from common.synapse_errors import NotFound, SessionEnded
from stack.settings import StackSettings

log = logging.getLogger(__name__)

BOOTSTRAP_DEVICE_ID = "PLATFORM_BOOTSTRAP"
PORTAL_ADMIN_DEVICE_ID = "PORTAL_ADMIN_AREA"
PUBLIC_ROOMS = {
    "public": ("Public", "The public room for everyone on this server. Ask the AI with @bot <question>."),
    "gallery": ("Gallery", "Photos and videos shared by everyone on this server."),
}


@dataclass(frozen=True)
class BootstrapResult:
    admin_token: str
    bot_user_id: str
    room_ids: dict[str, str]


async def _ensure_account(
    session: aiohttp.ClientSession, settings: StackSettings, username: str, password: str, admin: bool
) -> str:
    """Register `username` if missing; returns its user id."""
    # The config renderer created it (the bootstrap may only read it: a read-only mount).
    secret = app_secrets.read_secret(settings.data_dir, app_secrets.REGISTRATION_SHARED_SECRET)
    try:
        registration = await register_user(
            session, settings.homeserver_url, secret, username, password, admin=admin
        )
        log.info("registered %s", registration.user_id)
        return registration.user_id
    except UserInUse:
        return f"@{username}:{settings.server_name}"


async def _ensure_room(
    session: aiohttp.ClientSession, settings: StackSettings, token: str, alias_name: str, bot_user_id: str
) -> str:
    homeserver = settings.homeserver_url
    alias = f"#{alias_name}:{settings.server_name}"
    try:
        room_id = await synapse_client.resolve_alias(session, homeserver, token, alias)
    except NotFound:
        name, topic = PUBLIC_ROOMS[alias_name]
        options = {
            "room_alias_name": alias_name,
            "name": name,
            "topic": topic,
            "preset": "public_chat",
            "visibility": "public",
            "invite": [bot_user_id],
        }
        room_id = await synapse_client.create_room(session, homeserver, token, options)
        log.info("created %s (%s)", alias, room_id)
    # Keep it listed in the room directory even if someone unlisted it by accident.
    listing = f"/directory/list/room/{segment(room_id)}"
    await synapse_client.call(session, homeserver, "PUT", listing, token, {"visibility": "public"})
    return room_id


async def _ensure_portal_admin_token(
    session: aiohttp.ClientSession, settings: StackSettings, admin_password: str
) -> None:
    """The admin account's token for the portal's admin area, on a device of its own: kept
    while it works, replaced when it does not (revoked from Element, say)."""
    with contextlib.suppress(FileNotFoundError):
        token = app_secrets.read_secret(settings.data_dir, app_secrets.PORTAL_ADMIN_TOKEN)
        with contextlib.suppress(SessionEnded):
            await synapse_client.call(session, settings.homeserver_url, "GET", "/account/whoami", token)
            return
    admin = await login(
        session,
        settings.homeserver_url,
        settings.admin_username,
        admin_password,
        device_id=PORTAL_ADMIN_DEVICE_ID,
        device_name="portal admin area",
    )
    app_secrets.write_secret(settings.data_dir, app_secrets.PORTAL_ADMIN_TOKEN, admin.access_token)


async def bootstrap(settings: StackSettings, session: aiohttp.ClientSession) -> BootstrapResult:
    log.info("waiting for the homeserver at %s", settings.homeserver_url)
    await wait_until_up(session, settings.homeserver_url)
    admin_password = app_secrets.ensure_secret(settings.data_dir, app_secrets.ADMIN_PASSWORD)
    bot_password = app_secrets.ensure_secret(settings.data_dir, app_secrets.BOT_PASSWORD)
    await _ensure_account(session, settings, settings.admin_username, admin_password, admin=True)
    bot_user_id = await _ensure_account(session, settings, settings.bot_username, bot_password, admin=False)
    # A fixed device id means repeated bootstraps reuse one admin device.
    admin = await login(
        session,
        settings.homeserver_url,
        settings.admin_username,
        admin_password,
        device_id=BOOTSTRAP_DEVICE_ID,
        device_name="platform bootstrap",
    )
    await override_ratelimit(session, settings.homeserver_url, admin.access_token, bot_user_id)
    room_ids = {
        name: await _ensure_room(session, settings, admin.access_token, name, bot_user_id)
        for name in PUBLIC_ROOMS
    }
    portal_token = app_secrets.ensure_secret(settings.data_dir, app_secrets.PORTAL_REGISTRATION_TOKEN, 24)
    await ensure_registration_token(session, settings.homeserver_url, admin.access_token, portal_token)
    await _ensure_portal_admin_token(session, settings, admin_password)
    log.info("provisioned: accounts, rooms and the portal's registration and admin tokens")
    return BootstrapResult(admin.access_token, bot_user_id, room_ids)

"""The admin area: people (approve, deactivate, make or unmake admin), invitation codes
(create with uses and expiry, list, revoke) and the audit log. Every handler is wrapped
in `admin_only`, which checks the role on every request; the CSRF and CSP rules are the
portal's own, as on every page."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from common.synapse_errors import SynapseError
from portal.accounts.logins import PortalUser
from portal.admin.homeserver import HomeserverAdmin, InvitationCode
from portal.app_keys import ADMIN_ROLES, AUDIT, HTTP, LOGINS, SETTINGS, require_user

log = logging.getLogger(__name__)

NOT_AN_ADMIN = "This page is for the admins of this server."
PLATFORM_ROOMS = ("public", "gallery")
MAX_CODE_USES = 1000
MAX_CODE_DAYS = 365
NOTE = "admin_note"

AdminHandler = Callable[[web.Request, PortalUser], Awaitable[web.StreamResponse]]


def admin_only(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        user = require_user(request)
        if not await request.app[ADMIN_ROLES].is_admin(user.user_id):
            raise web.HTTPForbidden(text=NOT_AN_ADMIN)
        return await handler(request, user)

    return checked


def homeserver_admin_token(app: web.Application) -> str:
    return app[SETTINGS].admin_api_token()


def homeserver_admin(app: web.Application) -> HomeserverAdmin:
    return HomeserverAdmin(app[HTTP], app[SETTINGS].homeserver_url, homeserver_admin_token(app))


def server_accounts(app: web.Application) -> frozenset[str]:
    settings = app[SETTINGS]
    return frozenset({settings.bot_user_id, settings.admin_user_id})


async def approve_and_join(app: web.Application, user_id: str) -> None:
    """Let an account in (MSC3866 approval) and join it to #public and #gallery."""
    admin = homeserver_admin(app)
    await admin.approve(user_id)
    for room in PLATFORM_ROOMS:
        try:
            await admin.join(user_id, f"#{room}:{app[SETTINGS].server_name}")
        except SynapseError as error:  # a missing room: they can join later from the directory
            log.warning("an approved account could not be joined to #%s: %s", room, error)


async def say(request: web.Request, note: str) -> None:
    session = await get_session(request)
    session[NOTE] = note


async def said(request: web.Request) -> str | None:
    session = await get_session(request)
    note = session.pop(NOTE, None)
    return note if isinstance(note, str) else None


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context)


@admin_only
async def home(request: web.Request, user: PortalUser) -> web.StreamResponse:
    raise web.HTTPSeeOther("/admin/people")


@admin_only
async def people(request: web.Request, user: PortalUser) -> web.StreamResponse:
    start = request.query.get("from", "0")
    start_at = int(start) if start.isdigit() and len(start) < 10 else 0
    listed, next_start = await homeserver_admin(request.app).people(start_at)
    roles = request.app[ADMIN_ROLES]
    granted = {grant.user_id for grant in await roles.granted()}
    rows = [
        {
            "person": person,
            "server_account": person.user_id in server_accounts(request.app),
            "named_admin": person.user_id.lower() in roles.named,
            "admin": person.user_id in granted or person.user_id.lower() in roles.named,
            "me": person.user_id == user.user_id,
        }
        for person in listed
    ]
    return _render(
        request,
        "admin_people.html",
        rows=rows,
        next_start=next_start,
        note=await said(request),
        signup_mode=request.app[SETTINGS].signup_mode,
    )


async def _target(request: web.Request, user: PortalUser) -> str:
    """The person an action is about: an existing account of this server, never a server
    account, never the admin acting (they cannot lock themselves out)."""
    form = await request.post()
    target = str(form.get("user_id", ""))
    if target in server_accounts(request.app) or target == user.user_id:
        raise web.HTTPBadRequest(text="That account cannot be changed here.")
    if not target.startswith("@") or not target.endswith(f":{request.app[SETTINGS].server_name}"):
        raise web.HTTPBadRequest(text="There is no such person on this server.")
    try:
        await homeserver_admin(request.app).person(target)
    except SynapseError:
        raise web.HTTPBadRequest(text="There is no such person on this server.") from None
    return target


@admin_only
async def approve(request: web.Request, user: PortalUser) -> web.StreamResponse:
    target = await _target(request, user)
    await approve_and_join(request.app, target)
    await request.app[AUDIT].record(user.user_id, "approve", target)
    await say(request, f"{target} is approved and can log in now.")
    raise web.HTTPSeeOther("/admin/people")


@admin_only
async def deactivate(request: web.Request, user: PortalUser) -> web.StreamResponse:
    target = await _target(request, user)
    app = request.app
    if target.lower() in app[ADMIN_ROLES].named:
        raise web.HTTPBadRequest(text="That person is an admin by the server's settings (ADMIN_USERS).")
    await homeserver_admin(app).deactivate(target)  # every Matrix device and token ends
    ended = await app[LOGINS].forget_user(target)  # and every portal session, at once
    await app[ADMIN_ROLES].revoke(target)
    await app[AUDIT].record(user.user_id, "deactivate", target, f"{ended} portal sessions ended")
    await say(request, f"{target} is deactivated; their sessions have ended.")
    raise web.HTTPSeeOther("/admin/people")


@admin_only
async def make_admin(request: web.Request, user: PortalUser) -> web.StreamResponse:
    target = await _target(request, user)
    await request.app[ADMIN_ROLES].grant(target, user.user_id)
    await request.app[AUDIT].record(user.user_id, "make admin", target)
    await say(request, f"{target} is an admin now.")
    raise web.HTTPSeeOther("/admin/people")


@admin_only
async def remove_admin(request: web.Request, user: PortalUser) -> web.StreamResponse:
    target = await _target(request, user)
    if target.lower() in request.app[ADMIN_ROLES].named:
        raise web.HTTPBadRequest(text="That person is an admin by the server's settings (ADMIN_USERS).")
    await request.app[ADMIN_ROLES].revoke(target)
    await request.app[AUDIT].record(user.user_id, "remove admin", target)
    await say(request, f"{target} is no longer an admin.")
    raise web.HTTPSeeOther("/admin/people")


def _own_codes(app: web.Application, codes: list[InvitationCode]) -> list[InvitationCode]:
    """Every code but the portal's own (its secret, which signs people up in open mode)."""
    with_portal = {app[SETTINGS].registration_token()}
    return [code for code in codes if code.code not in with_portal]


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _masked(code: str) -> str:
    return f"…{code[-4:]}"  # what the audit log keeps of a code


@admin_only
async def codes(request: web.Request, user: PortalUser) -> web.StreamResponse:
    listed = _own_codes(request.app, await homeserver_admin(request.app).codes())
    now_ms = int(time.time() * 1000)
    return _render(
        request,
        "admin_codes.html",
        codes=[
            {"code": code, "usable": code.usable(now_ms), "expires": _when(code.expiry_ms)} for code in listed
        ],
        note=await said(request),
        signup_mode=request.app[SETTINGS].signup_mode,
        max_uses=MAX_CODE_USES,
        max_days=MAX_CODE_DAYS,
    )


def _bounded(raw: object, low: int, high: int, what: str) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise web.HTTPBadRequest(text=f"{what} must be a whole number from {low} to {high}, or empty.")
    return int(text)


@admin_only
async def create_code(request: web.Request, user: PortalUser) -> web.StreamResponse:
    form = await request.post()
    uses = _bounded(form.get("uses"), 1, MAX_CODE_USES, "Uses")
    days = _bounded(form.get("days"), 1, MAX_CODE_DAYS, "Days")
    expiry_ms = int((time.time() + days * 86400) * 1000) if days else None
    code = await homeserver_admin(request.app).create_code(uses, expiry_ms)
    detail = f"uses {uses or 'unlimited'}, expires {'in ' + str(days) + ' days' if days else 'never'}"
    await request.app[AUDIT].record(user.user_id, "create code", _masked(code), detail)
    await say(request, f"New invitation code: {code}")
    raise web.HTTPSeeOther("/admin/codes")


@admin_only
async def revoke_code(request: web.Request, user: PortalUser) -> web.StreamResponse:
    form = await request.post()
    code = str(form.get("code", ""))
    listed = {c.code for c in _own_codes(request.app, await homeserver_admin(request.app).codes())}
    if code not in listed:
        raise web.HTTPBadRequest(text="There is no such invitation code.")
    await homeserver_admin(request.app).revoke_code(code)
    await request.app[AUDIT].record(user.user_id, "revoke code", _masked(code))
    await say(request, f"The code ending {code[-4:]} is revoked.")
    raise web.HTTPSeeOther("/admin/codes")


@admin_only
async def audit(request: web.Request, user: PortalUser) -> web.StreamResponse:
    before = request.query.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    entries = await request.app[AUDIT].recent(before_id)
    return _render(request, "admin_audit.html", entries=entries, older=entries[-1].id if entries else None)


def add_routes(router: web.UrlDispatcher) -> None:
    """Every route here is an `admin_only` handler."""
    router.add_get("/admin", home)
    router.add_get("/admin/people", people)
    router.add_post("/admin/people/approve", approve)
    router.add_post("/admin/people/deactivate", deactivate)
    router.add_post("/admin/people/make-admin", make_admin)
    router.add_post("/admin/people/remove-admin", remove_admin)
    router.add_get("/admin/codes", codes)
    router.add_post("/admin/codes", create_code)
    router.add_post("/admin/codes/revoke", revoke_code)
    router.add_get("/admin/audit", audit)

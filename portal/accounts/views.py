"""Sign-up, login and logout."""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from common.synapse_admin import login, register_with_token
from common.synapse_errors import (
    AwaitingApproval,
    Deactivated,
    Forbidden,
    RateLimited,
    SynapseError,
    UserInUse,
)
from portal.accounts.rules import password_problem, username_problem
from portal.admin.views import approve_and_join
from portal.app_keys import (
    ADMIN_ROLES,
    HTTP,
    INVITE_THROTTLE,
    LOGIN_ACCOUNT_THROTTLE,
    LOGIN_ADDRESS_THROTTLE,
    LOGINS,
    MATRIX,
    SETTINGS,
    SIGNUP_THROTTLE,
    current_user,
)
from portal.security import client_address

log = logging.getLogger(__name__)

DEVICE_NAME = "Web portal"
WRONG_LOGIN = "Wrong username or password."
NOT_FOR_THE_PORTAL = "This account is for running the server, not for the portal. Use a Matrix client."
UNREACHABLE = "The homeserver is unreachable right now. Please try again in a moment."
WAITING = "Your account is waiting for approval by an admin. You can log in once it is approved."
CLOSED = "Sign-up is closed on this server. Ask whoever runs it for an account."
BAD_CODE = "That invitation code does not work: it may be mistyped, used up or expired."
FIRST_ADMIN = (
    "You are the first account on this server, so you are its admin: "
    "the Admin page (in the menu) lets you approve people and make invitation codes."
)
SESSION_USER = "sid"
FLASH = "flash"
PLATFORM_ROOMS = ("public", "gallery")
# A path on this site: one slash, then printable ASCII without a backslash. Anything
# else (`//host`, `/\\host`, a tab or newline a browser would drop) goes home instead.
LOCAL_PATH = re.compile(r"^/(?![/\\])[!#-\[\]-~]*$")


def safe_next(raw: object) -> str:
    """Where to go after logging in: `raw` if it is a path on this site, else `/`."""
    return raw if isinstance(raw, str) and LOCAL_PATH.match(raw) else "/"


def _localpart(raw: str, server_name: str) -> str:
    """Accept `alice`, `@alice` or `@alice:server`."""
    name = raw.strip().lower()
    if name.startswith("@"):
        name = name[1:]
    suffix = f":{server_name}"
    return name[: -len(suffix)] if name.endswith(suffix) else name


def _render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, context, status=status)


async def _start_session(request: web.Request, user_id: str, token: str, device_id: str) -> None:
    stored = await request.app[LOGINS].create(user_id, token, device_id)
    session = await new_session(request)  # a fresh session at every login
    session[SESSION_USER] = stored.session_id


async def take_flash(request: web.Request) -> str | None:
    """A one-time note for the next page (what sign-up could not do, say)."""
    session = await get_session(request)
    note = session.pop(FLASH, None)
    return note if isinstance(note, str) else None


async def signup_form(request: web.Request) -> web.Response:
    return _render(request, "signup.html", form={}, errors={})


def _code_problem(request: web.Request, code: str) -> str | None:
    """What is wrong with the invitation code before Synapse is asked (too many tries)."""
    if not code:
        return "Enter the invitation code you were given."
    if wait := request.app[INVITE_THROTTLE].retry_after(client_address(request)):
        return f"Too many invitation codes tried from your address. Try again in {wait} s."
    return None


async def signup(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.signup_mode == "closed":
        raise web.HTTPForbidden(text=CLOSED)
    form = await request.post()
    username = _localpart(str(form.get("username", "")), settings.server_name)
    password, confirmation = str(form.get("password", "")), str(form.get("confirm", ""))
    errors: dict[str, str] = {}
    reserved = {settings.bot_username, settings.admin_username}
    if problem := username_problem(username, reserved):
        errors["username"] = problem
    if problem := password_problem(password, confirmation):
        errors["password" if "differ" not in problem else "confirm"] = problem
    code = str(form.get("code", "")).strip() if settings.signup_mode == "token" else ""
    if not errors and settings.signup_mode == "token" and (problem := _code_problem(request, code)):
        errors["code"] = problem
    if not errors and (wait := request.app[SIGNUP_THROTTLE].retry_after(client_address(request))):
        errors["form"] = f"Too many sign-ups from your address. Try again in {wait} s."
    if errors:
        return _render(request, "signup.html", status=400, form={"username": username}, errors=errors)
    try:
        registration = await register_with_token(
            request.app[HTTP],
            settings.synapse_portal_url,
            code or settings.registration_token(),
            username,
            password,
            device_name=DEVICE_NAME,
            headers={"X-Forwarded-For": client_address(request)},
        )
    except AwaitingApproval:
        return await _awaiting_approval(request, f"@{username}:{settings.server_name}", password)
    except Forbidden as refusal:
        if code:
            errors["code"] = BAD_CODE
        else:
            errors["form"] = f"The homeserver refused the sign-up ({refusal.error or refusal.errcode})."
    except UserInUse:
        errors["username"] = "That username is taken. Choose another."
    except RateLimited:
        errors["form"] = "The homeserver is getting many sign-ups right now. Try again in a minute."
    except SynapseError as error:
        errors["form"] = f"The homeserver refused the sign-up ({error.error or error.errcode})."
    except FileNotFoundError:
        log.error("the portal has no registration token yet: run the bootstrap (`python -m stack bootstrap`)")
        errors["form"] = "Sign-up is not ready on this server yet. Please try again in a minute."
    except (OSError, aiohttp.ClientError, TimeoutError):
        errors["form"] = UNREACHABLE
    if errors:
        return _render(request, "signup.html", status=400, form={"username": username}, errors=errors)
    missing = await _join_platform_rooms(request, registration.access_token)
    await _start_session(request, registration.user_id, registration.access_token, registration.device_id)
    notes = [FIRST_ADMIN] if await request.app[ADMIN_ROLES].claim_first(registration.user_id) else []
    if missing:
        notes.append(
            f"Your account is ready, but you could not be added to {' and '.join(missing)} yet. "
            "You can join them later from the chat's room directory or the gallery page."
        )
    if notes:
        session = await get_session(request)
        session[FLASH] = " ".join(notes)
    raise web.HTTPSeeOther("/")


async def _awaiting_approval(request: web.Request, user_id: str, password: str) -> web.Response:
    """The account exists and waits for an admin; unless there is no admin at all yet, in
    which case this first account is approved and becomes the admin (or nobody could)."""
    if not await request.app[ADMIN_ROLES].claim_first(user_id):
        return _render(request, "signup_waiting.html", user_id=user_id, note=WAITING)
    await approve_and_join(request.app, user_id)
    settings = request.app[SETTINGS]
    result = await login(
        request.app[HTTP], settings.synapse_portal_url, user_id, password, device_name=DEVICE_NAME
    )
    await _start_session(request, result.user_id, result.access_token, result.device_id)
    session = await get_session(request)
    session[FLASH] = FIRST_ADMIN
    raise web.HTTPSeeOther("/")


async def _join_platform_rooms(request: web.Request, token: str) -> list[str]:
    """Join #public and #gallery; the aliases that could not be joined (missing, say)."""
    server_name = request.app[SETTINGS].server_name
    missing: list[str] = []
    for room in PLATFORM_ROOMS:
        alias = f"#{room}:{server_name}"
        try:
            await request.app[MATRIX].join(token, alias)
        except (SynapseError, OSError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("a new account could not join %s: %s", alias, error)
            missing.append(alias)
    return missing


async def login_form(request: web.Request) -> web.Response:
    note = "Your session ended. Log in again to go on." if request.query.get("expired") else None
    return _render(
        request, "login.html", form={}, errors={}, next=safe_next(request.query.get("next")), note=note
    )


async def login_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    username = _localpart(str(form.get("username", "")), settings.server_name)
    password = str(form.get("password", ""))
    next_url = safe_next(form.get("next"))
    address = client_address(request)
    wait = request.app[LOGIN_ADDRESS_THROTTLE].retry_after(address) or request.app[
        LOGIN_ACCOUNT_THROTTLE
    ].retry_after(username)
    error = f"Too many login attempts. Try again in {wait} s." if wait else None
    if error is None and username in {settings.admin_username, settings.bot_username}:
        error = NOT_FOR_THE_PORTAL
    if error is None:
        try:
            result = await login(
                request.app[HTTP],
                settings.synapse_portal_url,
                username,
                password,
                device_name=DEVICE_NAME,
                headers={"X-Forwarded-For": address},
            )
        except RateLimited:
            error = "Too many login attempts. Try again in a minute."
        except AwaitingApproval:
            error = WAITING
        except Deactivated:
            error = "This account was deactivated by the server's admins."
        except SynapseError:
            error = WRONG_LOGIN  # the same words whether or not the account exists
        except (OSError, aiohttp.ClientError, TimeoutError):
            error = UNREACHABLE
    if error is not None:
        return _render(
            request,
            "login.html",
            status=400,
            form={"username": username},
            errors={"form": error},
            next=next_url,
        )
    await _start_session(request, result.user_id, result.access_token, result.device_id)
    raise web.HTTPSeeOther(next_url)


async def logout(request: web.Request) -> web.Response:
    user = current_user(request)
    if user is not None:
        with contextlib.suppress(SynapseError, OSError, aiohttp.ClientError, TimeoutError):
            await request.app[MATRIX].logout(user.access_token)  # ends that Matrix device
        await request.app[LOGINS].forget(user.session_id)
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/")

"""Sign-up, login and logout."""

from __future__ import annotations

import contextlib
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from common.synapse_admin import SynapseError, UserInUse, login, register_user
from portal.accounts import password_problem, username_problem
from portal.keys import (
    HTTP,
    LOGIN_ACCOUNT_THROTTLE,
    LOGIN_ADDRESS_THROTTLE,
    LOGINS,
    MATRIX,
    SETTINGS,
    SIGNUP_THROTTLE,
    current_user,
)
from portal.security import client_address

DEVICE_NAME = "Web portal"
WRONG_LOGIN = "Wrong username or password."
SESSION_USER = "sid"


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


async def signup_form(request: web.Request) -> web.Response:
    return _render(request, "signup.html", form={}, errors={})


async def signup(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    username = _localpart(str(form.get("username", "")), settings.server_name)
    password, confirmation = str(form.get("password", "")), str(form.get("confirm", ""))
    errors: dict[str, str] = {}
    reserved = {settings.bot_username, settings.admin_username}
    if problem := username_problem(username, reserved):
        errors["username"] = problem
    if problem := password_problem(password, confirmation):
        errors["password" if "differ" not in problem else "confirm"] = problem
    if not errors and (wait := request.app[SIGNUP_THROTTLE].retry_after(client_address(request))):
        errors["form"] = f"Too many sign-ups from your address. Try again in {wait} s."
    if errors:
        return _render(request, "signup.html", status=400, form={"username": username}, errors=errors)
    forwarded = {"X-Forwarded-For": client_address(request)}
    try:
        registration = await register_user(
            request.app[HTTP],
            settings.synapse_portal_url,
            settings.registration_secret(),
            username,
            password,
            headers=forwarded,
        )
    except UserInUse:
        errors["username"] = "That username is taken. Choose another."
    except SynapseError as error:
        errors["form"] = f"The homeserver refused the sign-up ({error.error or error.errcode})."
    except OSError:
        errors["form"] = "The homeserver is unreachable right now. Please try again in a moment."
    if errors:
        return _render(request, "signup.html", status=400, form={"username": username}, errors=errors)
    for room in ("public", "gallery"):
        await request.app[MATRIX].join(registration.access_token, f"#{room}:{settings.server_name}")
    await _start_session(request, registration.user_id, registration.access_token, registration.device_id)
    raise web.HTTPSeeOther("/")


async def login_form(request: web.Request) -> web.Response:
    return _render(request, "login.html", form={}, errors={}, next=request.query.get("next", "/"))


async def login_view(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()
    username = _localpart(str(form.get("username", "")), settings.server_name)
    password = str(form.get("password", ""))
    next_url = str(form.get("next", "/"))
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = "/"
    address = client_address(request)
    wait = request.app[LOGIN_ADDRESS_THROTTLE].retry_after(address) or request.app[
        LOGIN_ACCOUNT_THROTTLE
    ].retry_after(username)
    error = f"Too many login attempts. Try again in {wait} s." if wait else None
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
        except SynapseError as failure:
            if failure.errcode == "M_LIMIT_EXCEEDED":
                error = "Too many login attempts. Try again in a minute."
            else:
                error = WRONG_LOGIN  # the same words whether or not the account exists
        except OSError:
            error = "The homeserver is unreachable right now. Please try again in a moment."
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
        with contextlib.suppress(SynapseError, OSError):
            await request.app[MATRIX].logout(user.access_token)  # ends that Matrix device
        await request.app[LOGINS].forget(user.session_id)
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPSeeOther("/")

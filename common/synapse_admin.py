"""Synapse admin operations over HTTP: shared-secret registration, login, rate-limit
override, and waiting for the homeserver to answer.

Used by the launcher's bootstrap, the portal's sign-up and the test fixtures. The shared
secret is only ever used to compute the HMAC; it is never sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp


class SynapseError(Exception):
    """Synapse answered with an error (`errcode`, `error`) or could not be reached."""

    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error


class UserInUse(SynapseError):
    """The requested username is already taken."""


@dataclass(frozen=True)
class Registration:
    user_id: str
    access_token: str
    device_id: str


def registration_mac(shared_secret: str, nonce: str, username: str, password: str, admin: bool) -> str:
    mac = hmac.new(key=shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, username, password):
        mac.update(part.encode())
        mac.update(b"\x00")
    mac.update(b"admin" if admin else b"notadmin")
    return mac.hexdigest()


async def _json_or_error(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ContentTypeError, ValueError):
        body = {}
    if response.status >= 400 or not isinstance(body, dict):
        body = body if isinstance(body, dict) else {}
        errcode = str(body.get("errcode", "M_UNKNOWN"))
        error_class = UserInUse if errcode == "M_USER_IN_USE" else SynapseError
        raise error_class(response.status, errcode, str(body.get("error", response.reason)))
    return body


async def wait_for_http(session: aiohttp.ClientSession, url: str, timeout: float = 120.0) -> None:
    """Poll `url` until it answers 200, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def wait_until_up(session: aiohttp.ClientSession, homeserver_url: str, timeout: float = 120.0) -> None:
    """Wait until Synapse answers `/_matrix/client/versions`."""
    await wait_for_http(session, f"{homeserver_url}/_matrix/client/versions", timeout)


async def register_user(
    session: aiohttp.ClientSession,
    homeserver_url: str,
    shared_secret: str,
    username: str,
    password: str,
    *,
    admin: bool = False,
    headers: dict[str, str] | None = None,
) -> Registration:
    """Create an account through `/_synapse/admin/v1/register`. Raises UserInUse."""
    url = f"{homeserver_url}/_synapse/admin/v1/register"
    async with session.get(url, headers=headers) as response:
        nonce = (await _json_or_error(response))["nonce"]
    payload = {
        "nonce": nonce,
        "username": username,
        "password": password,
        "admin": admin,
        "mac": registration_mac(shared_secret, nonce, username, password, admin),
    }
    async with session.post(url, json=payload, headers=headers) as response:
        body = await _json_or_error(response)
    return Registration(body["user_id"], body["access_token"], body["device_id"])


async def login(
    session: aiohttp.ClientSession,
    homeserver_url: str,
    username: str,
    password: str,
    *,
    device_id: str | None = None,
    device_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> Registration:
    """Password login (`m.login.password`); raises SynapseError(M_FORBIDDEN) on bad credentials."""
    payload: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": password,
    }
    if device_id:
        payload["device_id"] = device_id
    if device_name:
        payload["initial_device_display_name"] = device_name
    async with session.post(
        f"{homeserver_url}/_matrix/client/v3/login", json=payload, headers=headers
    ) as response:
        body = await _json_or_error(response)
    return Registration(body["user_id"], body["access_token"], body["device_id"])


async def override_ratelimit(
    session: aiohttp.ClientSession, homeserver_url: str, admin_token: str, user_id: str
) -> None:
    """Lift Synapse's message rate limit for `user_id` (admin API)."""
    url = f"{homeserver_url}/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit"
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with session.post(url, json={"messages_per_second": 0, "burst_count": 0}, headers=auth) as response:
        await _json_or_error(response)

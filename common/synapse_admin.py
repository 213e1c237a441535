"""Account operations on Synapse over HTTP: shared-secret registration (the launcher's
bootstrap and the test fixtures only: that secret can create admin accounts), sign-up
with a registration token (the portal: ordinary accounts only), login, registration
tokens and rate-limit overrides (admin API), and waiting for the homeserver to answer.

The shared secret is only ever used to compute the HMAC; it is never sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from common.matrix_ids import segment
from common.synapse_errors import Forbidden, SynapseError, UserInUse, answer_json

__all__ = ["Registration", "SynapseError", "UserInUse"]

log = logging.getLogger(__name__)


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


async def wait_for_http(session: aiohttp.ClientSession, url: str, timeout: float = 120.0) -> None:
    """Poll `url` until it answers 200, or raise TimeoutError; says every 10 s what it waits for."""
    started = time.monotonic()
    deadline = started + timeout
    told = started
    last_problem = "no answer yet"
    while True:
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                if response.status == 200:
                    return
                last_problem = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            last_problem = type(error).__name__
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last: {last_problem})")
        if now - told >= 10:
            log.info("still waiting for %s (%s, %.0f s so far)", url, last_problem, now - started)
            told = now
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
        nonce = (await answer_json(response))["nonce"]
    payload = {
        "nonce": nonce,
        "username": username,
        "password": password,
        "admin": admin,
        "mac": registration_mac(shared_secret, nonce, username, password, admin),
    }
    async with session.post(url, json=payload, headers=headers) as response:
        body = await answer_json(response)
    if "access_token" not in body:  # Synapse holds new accounts for approval: this one is approved
        return await login(session, homeserver_url, username, password, headers=headers)
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
        body = await answer_json(response)
    return Registration(body["user_id"], body["access_token"], body["device_id"])


async def override_ratelimit(
    session: aiohttp.ClientSession, homeserver_url: str, admin_token: str, user_id: str
) -> None:
    """Lift Synapse's message rate limit for `user_id` (admin API)."""
    url = f"{homeserver_url}/_synapse/admin/v1/users/{segment(user_id)}/override_ratelimit"
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with session.post(url, json={"messages_per_second": 0, "burst_count": 0}, headers=auth) as response:
        await answer_json(response)


async def register_with_token(
    session: aiohttp.ClientSession,
    homeserver_url: str,
    registration_token: str,
    username: str,
    password: str,
    *,
    device_name: str,
    headers: dict[str, str] | None = None,
) -> Registration:
    """Create an ordinary account through the client API's `/register`, with a Synapse
    registration token (the user-interactive `m.login.registration_token` stage, then
    `m.login.dummy` if Synapse asks for it). Raises UserInUse, or SynapseError."""
    url = f"{homeserver_url}/_matrix/client/v3/register"
    payload: dict[str, Any] = {
        "username": username,
        "password": password,
        "initial_device_display_name": device_name,
    }
    auth_stages = [
        {"type": "m.login.registration_token", "token": registration_token},
        {"type": "m.login.dummy"},
    ]
    session_id: str | None = None
    for stage in [None, *auth_stages]:
        body = payload if stage is None else {**payload, "auth": {**stage, "session": session_id}}
        async with session.post(url, json=body, headers=headers) as response:
            if response.status == 401:
                flows = await response.json(content_type=None)
                flows = flows if isinstance(flows, dict) else {}
                if stage is not None and "errcode" in flows:  # the code was refused
                    raise Forbidden(403, str(flows["errcode"]), str(flows.get("error", "")))
                session_id = str(flows.get("session", ""))
                continue
            answer = await answer_json(response)
        return Registration(answer["user_id"], answer["access_token"], answer["device_id"])
    raise SynapseError(401, "M_FORBIDDEN", "registration did not complete")


async def ensure_registration_token(
    session: aiohttp.ClientSession, homeserver_url: str, admin_token: str, token: str
) -> None:
    """Make sure Synapse knows `token` as a registration token with unlimited uses."""
    base = f"{homeserver_url}/_synapse/admin/v1/registration_tokens"
    auth = {"Authorization": f"Bearer {admin_token}"}
    async with session.get(f"{base}/{segment(token)}", headers=auth) as response:
        if response.status == 200:
            return
    async with session.post(
        f"{base}/new", json={"token": token, "uses_allowed": None, "expiry_time": None}, headers=auth
    ) as response:
        await answer_json(response)

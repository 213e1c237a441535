"""Calls to Synapse's client API with a user's token: the one place that builds their
URLs (every id one quoted path segment) and reads their answers (`synapse_errors`).
The portal's calls on behalf of a person and the launcher's bootstrap both use it."""

from __future__ import annotations

from typing import Any

import aiohttp

from common.matrix_ids import segment
from common.synapse_errors import answer_json

CLIENT_API = "/_matrix/client/v3"


async def call(
    session: aiohttp.ClientSession,
    homeserver_url: str,
    method: str,
    path: str,
    token: str,
    json: Any = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """One client-API call (`path` below /_matrix/client/v3); raises a SynapseError."""
    options: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}, "json": json}
    if timeout is not None:  # otherwise the session's own timeout applies
        options["timeout"] = aiohttp.ClientTimeout(total=timeout)
    async with session.request(method, f"{homeserver_url}{CLIENT_API}{path}", **options) as response:
        return await answer_json(response)


async def resolve_alias(session: aiohttp.ClientSession, homeserver_url: str, token: str, alias: str) -> str:
    found = await call(session, homeserver_url, "GET", f"/directory/room/{segment(alias)}", token)
    return str(found["room_id"])


async def create_room(
    session: aiohttp.ClientSession, homeserver_url: str, token: str, options: dict[str, Any]
) -> str:
    created = await call(session, homeserver_url, "POST", "/createRoom", token, options)
    return str(created["room_id"])

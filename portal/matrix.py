"""The portal's calls to Synapse on behalf of a logged-in user."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from common.synapse_admin import SynapseError


class UserMatrix:
    def __init__(self, session: aiohttp.ClientSession, homeserver_url: str) -> None:
        self._http = session
        self._base = f"{homeserver_url}/_matrix/client/v3"

    async def _call(self, method: str, path: str, token: str, json: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self._http.request(method, f"{self._base}{path}", json=json, headers=headers) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:
                body = body if isinstance(body, dict) else {}
                raise SynapseError(
                    response.status, str(body.get("errcode", "M_UNKNOWN")), str(body.get("error", ""))
                )
            return body if isinstance(body, dict) else {}

    async def join(self, token: str, room: str) -> str:
        return str((await self._call("POST", f"/join/{quote(room)}", token, {}))["room_id"])

    async def logout(self, token: str) -> None:
        await self._call("POST", "/logout", token, {})

    async def room_name(self, token: str, room_id: str) -> str | None:
        try:
            state = await self._call("GET", f"/rooms/{quote(room_id)}/state/m.room.name", token)
        except SynapseError:
            return None
        return str(state.get("name") or "") or None

    async def create_direct_chat(self, token: str, invitee: str) -> str:
        created = await self._call(
            "POST",
            "/createRoom",
            token,
            {"is_direct": True, "invite": [invitee], "preset": "trusted_private_chat"},
        )
        return str(created["room_id"])

    async def direct_rooms(self, token: str, user_id: str) -> dict[str, list[str]]:
        try:
            data = await self._call("GET", f"/user/{quote(user_id)}/account_data/m.direct", token)
        except SynapseError:
            return {}
        return {k: list(v) for k, v in data.items() if isinstance(v, list)}

    async def set_direct_rooms(self, token: str, user_id: str, rooms: dict[str, list[str]]) -> None:
        await self._call("PUT", f"/user/{quote(user_id)}/account_data/m.direct", token, rooms)

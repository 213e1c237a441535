"""The portal's calls to Synapse on behalf of a logged-in user."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from common.synapse_admin import SynapseError


async def _answer(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Synapse's JSON answer, or a SynapseError; a proxy's HTML error page (a 502 while
    Synapse restarts, say) counts as an error with its status, not as a crash."""
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if response.status >= 400 or not isinstance(body, dict):
        details = body if isinstance(body, dict) else {}
        status = response.status if response.status >= 400 else 502
        raise SynapseError(status, str(details.get("errcode", "M_UNKNOWN")), str(details.get("error", "")))
    return body


class UserMatrix:
    def __init__(self, session: aiohttp.ClientSession, homeserver_url: str) -> None:
        self._http = session
        self._homeserver = homeserver_url
        self._base = f"{homeserver_url}/_matrix/client/v3"

    async def _call(
        self, method: str, path: str, token: str, json: Any = None, timeout: float | None = None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}, "json": json}
        if timeout is not None:  # otherwise the session's own timeout applies
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        async with self._http.request(method, f"{self._base}{path}", **options) as response:
            return await _answer(response)

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

    async def _exists(self, path: str, token: str) -> bool:
        try:
            await self._call("GET", path, token)
        except SynapseError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def is_encrypted(self, token: str, room_id: str) -> bool:
        return await self._exists(f"/rooms/{quote(room_id)}/state/m.room.encryption", token)

    async def set_typing(self, token: str, room_id: str, user_id: str, typing: bool) -> None:
        body = {"typing": typing, "timeout": 10_000} if typing else {"typing": False}
        await self._call("PUT", f"/rooms/{quote(room_id)}/typing/{quote(user_id)}", token, body)

    async def joined_rooms(self, token: str) -> list[str]:
        return [str(r) for r in (await self._call("GET", "/joined_rooms", token)).get("joined_rooms", [])]

    async def resolve_alias(self, token: str, alias: str) -> str:
        return str((await self._call("GET", f"/directory/room/{quote(alias)}", token))["room_id"])

    async def send(self, token: str, room_id: str, content: dict[str, Any], txn: str) -> str:
        path = f"/rooms/{quote(room_id)}/send/m.room.message/{quote(txn)}"
        return str((await self._call("PUT", path, token, content))["event_id"])

    async def redact(self, token: str, room_id: str, event_id: str, txn: str) -> None:
        await self._call("PUT", f"/rooms/{quote(room_id)}/redact/{quote(event_id)}/{quote(txn)}", token, {})

    async def event(self, token: str, room_id: str, event_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}", token)

    async def messages(
        self, token: str, room_id: str, start: str | None, limit: int, filter_json: str | None = None
    ) -> dict[str, Any]:
        query = f"?dir=b&limit={limit}" + (f"&from={quote(start)}" if start else "")
        query += f"&filter={quote(filter_json)}" if filter_json else ""
        return await self._call("GET", f"/rooms/{quote(room_id)}/messages{query}", token)

    async def sync(
        self, token: str, since: str | None, timeout_ms: int, filter_json: str, request_timeout: float
    ) -> dict[str, Any]:
        query = f"?timeout={timeout_ms}&filter={quote(filter_json)}"
        query += f"&since={quote(since)}" if since else ""
        return await self._call("GET", f"/sync{query}", token, timeout=request_timeout)

    async def read_receipt(self, token: str, room_id: str, event_id: str) -> None:
        path = f"/rooms/{quote(room_id)}/receipt/m.read/{quote(event_id)}"
        await self._call("POST", path, token, {})

    async def public_rooms(self, token: str, limit: int) -> list[dict[str, Any]]:
        answer = await self._call("GET", f"/publicRooms?limit={limit}", token)
        return [room for room in answer.get("chunk", []) if isinstance(room, dict)]

    async def profile_exists(self, token: str, user_id: str) -> bool:
        return await self._exists(f"/profile/{quote(user_id)}", token)

    async def upload(self, token: str, body: Any, content_type: str, filename: str, size: int) -> str:
        """Upload to Synapse's media repository; `body` may be bytes or an open file (streamed)."""
        url = f"{self._homeserver}/_matrix/media/v3/upload?filename={quote(filename)}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Content-Length": str(size),
        }
        async with self._http.post(url, data=body, headers=headers) as response:
            return str((await _answer(response))["content_uri"])

    def media_request(self, token: str, server: str, media_id: str, thumbnail: bool) -> Any:
        """A streaming GET of authenticated media (use as `async with`)."""
        kind = "thumbnail" if thumbnail else "download"
        query = "?width=400&height=400&method=scale" if thumbnail else ""
        url = f"{self._homeserver}/_matrix/client/v1/media/{kind}/{quote(server)}/{quote(media_id)}{query}"
        return self._http.get(url, headers={"Authorization": f"Bearer {token}"})

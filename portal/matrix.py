"""The portal's calls to Synapse on behalf of a logged-in user.

Every id that goes into a path is one URL segment (`common.matrix_ids.segment`: no `/`,
no `..`), so nothing a person puts in a post can make a viewer's browser reach another
endpoint with the viewer's token. Three connection pools keep kinds of work apart: short
API calls (with a timeout), media downloads and long-polling syncs, so a flood of one
kind (a person opening a hundred downloads) cannot starve the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from common import synapse_client
from common.matrix_ids import segment
from common.synapse_errors import Forbidden, NotFound, SynapseError, answer_json

API_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=30)


@dataclass(frozen=True)
class Pools:
    api: aiohttp.ClientSession
    media: aiohttp.ClientSession
    sync: aiohttp.ClientSession

    @classmethod
    def open(cls) -> Pools:
        return cls(
            api=aiohttp.ClientSession(timeout=API_TIMEOUT, connector=aiohttp.TCPConnector(limit=100)),
            media=aiohttp.ClientSession(timeout=MEDIA_TIMEOUT, connector=aiohttp.TCPConnector(limit=200)),
            sync=aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)),
        )

    async def close(self) -> None:
        for session in (self.api, self.media, self.sync):
            await session.close()


class UserMatrix:
    def __init__(self, pools: Pools, homeserver_url: str) -> None:
        self._pools = pools
        self._homeserver = homeserver_url

    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        json: Any = None,
        timeout: float | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> dict[str, Any]:
        return await synapse_client.call(
            session or self._pools.api, self._homeserver, method, path, token, json, timeout
        )

    async def join(self, token: str, room: str) -> str:
        return str((await self._call("POST", f"/join/{segment(room)}", token, {}))["room_id"])

    async def logout(self, token: str) -> None:
        await self._call("POST", "/logout", token, {})

    async def whoami(self, token: str) -> str:
        return str((await self._call("GET", "/account/whoami", token))["user_id"])

    async def room_name(self, token: str, room_id: str) -> str | None:
        try:
            state = await self._call("GET", f"/rooms/{segment(room_id)}/state/m.room.name", token)
        except SynapseError:
            return None
        name = state.get("name")
        return name if isinstance(name, str) and name else None

    async def create_direct_chat(self, token: str, invitee: str) -> str:
        options = {"is_direct": True, "invite": [invitee], "preset": "trusted_private_chat"}
        return await synapse_client.create_room(self._pools.api, self._homeserver, token, options)

    async def direct_rooms(self, token: str, user_id: str) -> dict[str, list[str]]:
        try:
            data = await self._call("GET", f"/user/{segment(user_id)}/account_data/m.direct", token)
        except SynapseError:
            return {}
        return {k: [r for r in v if isinstance(r, str)] for k, v in data.items() if isinstance(v, list)}

    async def set_direct_rooms(self, token: str, user_id: str, rooms: dict[str, list[str]]) -> None:
        await self._call("PUT", f"/user/{segment(user_id)}/account_data/m.direct", token, rooms)

    async def _exists(self, path: str, token: str) -> bool:
        try:
            await self._call("GET", path, token)
        except NotFound:
            return False
        return True

    async def membership(self, token: str, room_id: str, user_id: str) -> str | None:
        """`join`, `leave`, `invite`… of `user_id` in the room; None when there is none."""
        path = f"/rooms/{segment(room_id)}/state/m.room.member/{segment(user_id)}"
        try:
            state = await self._call("GET", path, token)
        except (NotFound, Forbidden):
            return None
        membership = state.get("membership")
        return membership if isinstance(membership, str) else None

    async def state(
        self, token: str, room_id: str, event_type: str, state_key: str = "", whole_event: bool = False
    ) -> dict[str, Any] | None:
        """The content of one state event of the room (the whole event, with its sender,
        when `whole_event`); None when the room has none."""
        path = f"/rooms/{segment(room_id)}/state/{segment(event_type)}"
        path += f"/{segment(state_key)}" if state_key else ""
        path += "?format=event" if whole_event else ""
        try:
            return await self._call("GET", path, token)
        except NotFound:
            return None

    async def joined_members(self, token: str, room_id: str) -> dict[str, str]:
        """user id → display name ("" when none) of the room's joined members."""
        joined = (await self._call("GET", f"/rooms/{segment(room_id)}/joined_members", token)).get("joined")
        members: dict[str, str] = {}
        for user_id, profile in (joined if isinstance(joined, dict) else {}).items():
            name = profile.get("display_name") if isinstance(profile, dict) else None
            members[str(user_id)] = name if isinstance(name, str) else ""
        return members

    async def is_encrypted(self, token: str, room_id: str) -> bool:
        return await self._exists(f"/rooms/{segment(room_id)}/state/m.room.encryption", token)

    async def set_typing(self, token: str, room_id: str, user_id: str, typing: bool) -> None:
        body = {"typing": typing, "timeout": 10_000} if typing else {"typing": False}
        await self._call("PUT", f"/rooms/{segment(room_id)}/typing/{segment(user_id)}", token, body)

    async def joined_rooms(self, token: str) -> list[str]:
        rooms = (await self._call("GET", "/joined_rooms", token)).get("joined_rooms", [])
        return [r for r in rooms if isinstance(r, str)] if isinstance(rooms, list) else []

    async def resolve_alias(self, token: str, alias: str) -> str:
        return await synapse_client.resolve_alias(self._pools.api, self._homeserver, token, alias)

    async def send(self, token: str, room_id: str, content: dict[str, Any], txn: str) -> str:
        path = f"/rooms/{segment(room_id)}/send/m.room.message/{segment(txn)}"
        return str((await self._call("PUT", path, token, content))["event_id"])

    async def redact(self, token: str, room_id: str, event_id: str, txn: str) -> None:
        path = f"/rooms/{segment(room_id)}/redact/{segment(event_id)}/{segment(txn)}"
        await self._call("PUT", path, token, {})

    async def event(self, token: str, room_id: str, event_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/rooms/{segment(room_id)}/event/{segment(event_id)}", token)

    async def messages(
        self, token: str, room_id: str, start: str | None, limit: int, filter_json: str | None = None
    ) -> dict[str, Any]:
        query = f"?dir=b&limit={limit}" + (f"&from={quote(start, safe='')}" if start else "")
        query += f"&filter={quote(filter_json, safe='')}" if filter_json else ""
        return await self._call("GET", f"/rooms/{segment(room_id)}/messages{query}", token)

    async def sync(
        self, token: str, since: str | None, timeout_ms: int, filter_json: str, request_timeout: float
    ) -> dict[str, Any]:
        query = f"?timeout={timeout_ms}&filter={quote(filter_json, safe='')}"
        query += f"&since={quote(since, safe='')}" if since else ""
        return await self._call(
            "GET", f"/sync{query}", token, timeout=request_timeout, session=self._pools.sync
        )

    async def read_receipt(self, token: str, room_id: str, event_id: str) -> None:
        path = f"/rooms/{segment(room_id)}/receipt/m.read/{segment(event_id)}"
        await self._call("POST", path, token, {})

    async def public_rooms(self, token: str, limit: int) -> list[dict[str, Any]]:
        answer = await self._call("GET", f"/publicRooms?limit={limit}", token)
        chunk = answer.get("chunk", [])
        return [room for room in chunk if isinstance(room, dict)] if isinstance(chunk, list) else []

    async def profile_exists(self, token: str, user_id: str) -> bool:
        return await self._exists(f"/profile/{segment(user_id)}", token)

    async def upload(self, token: str, body: Any, content_type: str, filename: str, size: int) -> str:
        """Upload to Synapse's media repository; `body` may be bytes or an open file (streamed)."""
        url = f"{self._homeserver}/_matrix/media/v3/upload?filename={quote(filename, safe='')}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Content-Length": str(size),
        }
        async with self._pools.media.post(url, data=body, headers=headers) as response:
            return str((await answer_json(response))["content_uri"])

    def media_request(self, token: str, server: str, media_id: str, thumbnail: bool) -> Any:
        """A streaming GET of authenticated media (use as `async with`). The caller has
        checked `server` and `media_id` against their grammar."""
        kind = "thumbnail" if thumbnail else "download"
        query = "?width=400&height=400&method=scale" if thumbnail else ""
        url = (
            f"{self._homeserver}/_matrix/client/v1/media/{kind}/{segment(server)}/{segment(media_id)}{query}"
        )
        return self._pools.media.get(url, headers={"Authorization": f"Bearer {token}"})

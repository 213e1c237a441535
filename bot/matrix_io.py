"""The bot's Matrix actions, on top of matrix-nio: send, typing, join, fetch an event,
and download (and decrypt) media within limits. nio returns errors as values; here they
become `MatrixActionFailed`, which says whether trying again later could help."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    JoinResponse,
    MatrixRoom,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomPutStateResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import LocalProtocolError

from bot.values import MediaRef, ReplyTarget, txn_id
from common.matrix_ids import parse_mxc, segment
from common.power_levels import may_redact_others, may_send_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomPower:
    """A room's `m.room.power_levels` content (None when it has none) and its whole
    `m.room.create` event (its sender is a creator)."""

    levels: dict[str, Any] | None
    create: dict[str, Any] | None

    def may_send_state(self, user_id: str, event_type: str) -> bool:
        return may_send_state(self.levels, self.create, user_id, event_type)

    def may_redact_others(self, user_id: str) -> bool:
        return may_redact_others(self.levels, self.create, user_id)


class MatrixActionFailed(Exception):
    """A Matrix action failed. `permanent`: the homeserver refused it (a 4xx), so a retry
    would fail the same way; otherwise (server down, room not known to the client yet)
    the same action may succeed later."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MediaTooLarge(MatrixActionFailed):
    def __init__(self, limit: int) -> None:
        super().__init__(f"media larger than {limit} bytes", permanent=True)
        self.limit = limit


# Server-side failures (a restarting homeserver, or its proxy's 502) are retried; client
# errors (4xx) are final.
SEND_RETRY_DELAYS_S = [0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30, 30, 30, 60, 60, 60]
DOWNLOAD_CHUNK = 64 * 1024


def _http_status(response: object) -> int | None:
    transport = getattr(response, "transport_response", None)
    return getattr(transport, "status", None)


def is_direct_chat(room: MatrixRoom) -> bool:
    """The user and the bot alone, in a room that is not public."""
    return room.join_rule != "public" and room.member_count <= 2


class MatrixIO:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def is_direct(self, room_id: str) -> bool:
        """Whether the bot's direct chat rule holds for `room_id` now (as last synced)."""
        room = self._client.rooms.get(room_id)
        return room is not None and is_direct_chat(room)

    async def notice(self, target: ReplyTarget, text: str, kind: str) -> str:
        """A notice in reply to `target`'s question; `kind` makes its transaction id, so
        the same notice for the same question is stored once."""
        return await self.send(target.room_id, target.reply(text, notice=True), txn_id(kind, target.event_id))

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        """Send, retrying while the homeserver (or its proxy) is unavailable, always with
        the same transaction id, so Synapse stores the message once."""
        txn = txn or uuid.uuid4().hex
        for delay in [*SEND_RETRY_DELAYS_S, None]:
            try:
                response = await self._client.room_send(
                    room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
                )
            except LocalProtocolError as error:  # nio does not know the room (yet)
                raise MatrixActionFailed(f"send to {room_id} failed: {error}", permanent=False) from error
            if isinstance(response, RoomSendResponse):
                return str(response.event_id)
            status = _http_status(response)
            if delay is None or (status is not None and status < 500 and status != 429):
                break
            log.warning("homeserver unavailable (HTTP %s); retrying the send in %.1f s", status, delay)
            await asyncio.sleep(delay)
        status = _http_status(response)
        reason = getattr(response, "message", response)
        permanent = status is not None and 400 <= status < 500 and status != 429
        raise MatrixActionFailed(f"send to {room_id} failed (HTTP {status}): {reason}", permanent=permanent)

    async def join(self, room_id_or_alias: str) -> str | None:
        """Join; the room id, or None when the homeserver refused or is unreachable."""
        try:
            response = await self._client.join(room_id_or_alias)
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not join %s: %s", room_id_or_alias, error)
            return None
        if isinstance(response, JoinResponse):
            log.info("joined %s", room_id_or_alias)
            return str(response.room_id)
        log.warning("could not join %s: %s", room_id_or_alias, getattr(response, "message", response))
        return None

    async def leave(self, room_id: str) -> None:
        await self._client.room_leave(room_id)

    async def typing(self, room_id: str, on: bool, timeout_ms: int = 30_000) -> None:
        await self._client.room_typing(room_id, on, timeout=timeout_ms)

    async def event(self, room_id: str, event_id: str) -> dict[str, Any] | None:
        """The event's source (decrypted when nio can), or None if it cannot be fetched."""
        response = await self._client.room_get_event(room_id, event_id)
        if not isinstance(response, RoomGetEventResponse):
            return None
        event = response.event
        if type(event).__name__ == "MegolmEvent":
            try:
                event = self._client.decrypt_event(event)  # type: ignore[arg-type]
            except Exception:
                return None
        return dict(event.source)

    def is_in(self, room_id: str) -> bool:
        """Whether the bot is in `room_id` (as last synced)."""
        return room_id in self._client.rooms

    async def resolve(self, room: str) -> str | None:
        """The id of a room named by alias (or given by id); None when there is no such room."""
        if room.startswith("!"):
            return room
        response = await self._client.room_resolve_alias(room)
        return str(response.room_id) if isinstance(response, RoomResolveAliasResponse) else None

    async def state(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
        """A state event's content; None when the room has none (or it was emptied)."""
        response = await self._client.room_get_state_event(room_id, event_type, state_key)
        if isinstance(response, RoomGetStateEventResponse):
            return response.content if isinstance(response.content, dict) and response.content else None
        if getattr(response, "status_code", "") == "M_NOT_FOUND":
            return None
        raise MatrixActionFailed(
            f"state {event_type} of {room_id}: {getattr(response, 'message', response)}", permanent=False
        )

    async def power(self, room_id: str) -> RoomPower:
        """The room's power levels and its create event: what `common.power_levels` needs."""
        events = await self.state_events(room_id, "m.room.power_levels", "m.room.create")
        levels = events.get("m.room.power_levels", {}).get("content")
        return RoomPower(levels if isinstance(levels, dict) else None, events.get("m.room.create"))

    async def state_events(self, room_id: str, *event_types: str) -> dict[str, dict[str, Any]]:
        """The whole state events (sender included) of these types with the empty state key."""
        response = await self._client.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            raise MatrixActionFailed(
                f"state of {room_id}: {getattr(response, 'message', response)}", permanent=False
            )
        return {
            event["type"]: event
            for event in response.events
            if isinstance(event, dict) and event.get("state_key") == "" and event.get("type") in event_types
        }

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any]) -> None:
        """Set room state as the bot; MatrixActionFailed (permanent when refused) otherwise."""
        response = await self._client.room_put_state(room_id, event_type, content)
        if isinstance(response, RoomPutStateResponse):
            return
        status = _http_status(response)
        permanent = status is not None and 400 <= status < 500 and status != 429
        raise MatrixActionFailed(
            f"state {event_type} in {room_id}: {getattr(response, 'message', response)}", permanent=permanent
        )

    async def is_member(self, room_id: str, user_id: str) -> bool:
        """Whether `user_id` has joined `room_id` now (the bot must be in that room)."""
        response = await self._client.room_get_state_event(room_id, "m.room.member", user_id)
        return (
            isinstance(response, RoomGetStateEventResponse) and response.content.get("membership") == "join"
        )

    async def download(self, media: MediaRef, max_bytes: int, timeout_s: float) -> bytes:
        """The media's bytes (decrypted for encrypted rooms), streamed and refused past
        `max_bytes`, within `timeout_s`."""
        parsed = parse_mxc(media.mxc)
        if parsed is None:
            raise MatrixActionFailed(f"not a media URL: {media.mxc!r}", permanent=True)
        if media.size is not None and media.size > max_bytes:
            raise MediaTooLarge(max_bytes)
        server, media_id = parsed
        path = f"/_matrix/client/v1/media/download/{segment(server)}/{segment(media_id)}"
        url = f"{self._client.homeserver}{path}"
        headers = {"Authorization": f"Bearer {self._client.access_token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
                session.get(url, headers=headers) as response,
            ):
                if response.status != 200:
                    permanent = 400 <= response.status < 500 and response.status != 429
                    raise MatrixActionFailed(
                        f"download of {media.mxc} failed: HTTP {response.status}", permanent=permanent
                    )
                if (response.content_length or 0) > max_bytes:
                    raise MediaTooLarge(max_bytes)
                data = bytearray()
                async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                    data += chunk
                    if len(data) > max_bytes:
                        raise MediaTooLarge(max_bytes)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise MatrixActionFailed(f"download of {media.mxc} failed: {error!r}", permanent=False) from error
        if media.file is None:
            return bytes(data)
        try:
            return bytes(decrypt_attachment(bytes(data), media.file.key, media.file.sha256, media.file.iv))
        except Exception as error:  # a wrong key or hash from the sender
            raise MatrixActionFailed(f"could not decrypt {media.mxc}: {error}", permanent=True) from error

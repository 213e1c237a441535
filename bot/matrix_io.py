"""The bot's Matrix actions, on top of matrix-nio: send, typing, fetch an event, and
download (and decrypt) media. nio returns errors as values; here they become exceptions."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from nio import (
    AsyncClient,
    DownloadResponse,
    JoinResponse,
    RoomGetEventResponse,
    RoomSendResponse,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import LocalProtocolError

log = logging.getLogger(__name__)


class MatrixActionFailed(Exception):
    pass


# Server-side failures (a restarting homeserver, or its proxy's 502) are retried; client
# errors (4xx) are final.
SEND_RETRY_DELAYS_S = [0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30, 30, 30, 60, 60, 60]


def _http_status(response: object) -> int | None:
    transport = getattr(response, "transport_response", None)
    return getattr(transport, "status", None)


def txn_id(*parts: str) -> str:
    """A transaction id derived from what is being sent, so a retry after a crash or a
    lost response reuses it and Synapse stores the message only once."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class MediaRef:
    """An image to fetch: a plain `url`, or an encrypted `file` object (e2e rooms)."""

    mimetype: str
    url: str | None = None
    file: dict[str, Any] | None = None

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> MediaRef | None:
        mimetype = str(content.get("info", {}).get("mimetype", "image/png"))
        if isinstance(content.get("file"), dict):
            return cls(mimetype, file=content["file"])
        if isinstance(content.get("url"), str):
            return cls(mimetype, url=content["url"])
        return None


class MatrixIO:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        """Send, retrying while the homeserver (or its proxy) is unavailable, always with
        the same transaction id, so Synapse stores the message once."""
        txn = txn or uuid.uuid4().hex
        for delay in [*SEND_RETRY_DELAYS_S, None]:
            try:
                response = await self._client.room_send(
                    room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
                )
            except LocalProtocolError as error:
                raise MatrixActionFailed(f"send to {room_id} failed: {error}") from error
            if isinstance(response, RoomSendResponse):
                return str(response.event_id)
            status = _http_status(response)
            if delay is None or (status is not None and status < 500):
                break
            log.warning("homeserver unavailable (HTTP %s); retrying the send in %.1f s", status, delay)
            await asyncio.sleep(delay)
        reason = getattr(response, "message", response)
        raise MatrixActionFailed(f"send to {room_id} failed (HTTP {_http_status(response)}): {reason}")

    async def join(self, room_id: str) -> bool:
        response = await self._client.join(room_id)
        if isinstance(response, JoinResponse):
            log.info("joined %s", room_id)
            return True
        log.warning("could not join %s: %s", room_id, getattr(response, "message", response))
        return False

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

    async def download(self, media: MediaRef) -> bytes:
        mxc = media.file["url"] if media.file else media.url
        response = await self._client.download(mxc=mxc)
        if not isinstance(response, DownloadResponse):
            raise MatrixActionFailed(f"download of {mxc} failed: {getattr(response, 'message', response)}")
        data = response.body if isinstance(response.body, bytes) else bytes(response.body)
        if media.file:
            data = decrypt_attachment(
                data, media.file["key"]["k"], media.file["hashes"]["sha256"], media.file["iv"]
            )
        return data

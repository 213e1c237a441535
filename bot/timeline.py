"""Fill the gap when a sync comes back `limited`: more happened in a room than the
timeline holds, so fetch the missing events with `/messages`, back to where we were."""

from __future__ import annotations

import logging

from nio import AsyncClient, Event, MessageDirection, RoomMessagesResponse

log = logging.getLogger(__name__)

PAGE = 100
MAX_PAGES = 20


async def fill_gap(
    client: AsyncClient, room_id: str, prev_batch: str, since: str, oldest_ms: int
) -> list[Event]:
    """Events between `since` and `prev_batch`, oldest first, none older than `oldest_ms`."""
    collected: list[Event] = []
    token = prev_batch
    for _ in range(MAX_PAGES):
        response = await client.room_messages(
            room_id, start=token, end=since, direction=MessageDirection.back, limit=PAGE
        )
        if not isinstance(response, RoomMessagesResponse):
            log.warning("could not fetch the gap in %s: %s", room_id, getattr(response, "message", response))
            break
        collected.extend(response.chunk)
        if (
            not response.chunk
            or not response.end
            or response.end == token
            or response.chunk[-1].server_timestamp < oldest_ms
        ):
            break
        token = response.end
    log.info("filled a gap of %d events in %s", len(collected), room_id)
    return [event for event in reversed(collected) if event.server_timestamp >= oldest_ms]

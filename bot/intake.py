"""From Matrix events to jobs: build the routing input from each event, ask the router,
and describe the work to do. No sending happens here."""

from __future__ import annotations

import logging
import time
from typing import Any

from nio import Event, MatrixRoom, RoomMemberEvent

from bot.jobs import Job
from bot.matrix_io import MediaRef
from bot.routing import Action, BotIdentity, IncomingMessage, route
from bot.streaming import ReplyTarget
from common.reply_fallback import strip_reply_fallback

log = logging.getLogger(__name__)


def is_direct_chat(room: MatrixRoom) -> bool:
    """The user and the bot alone, in a room that is not public."""
    return room.join_rule != "public" and room.member_count <= 2


def thread_root(content: dict[str, Any]) -> str | None:
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread" and isinstance(relates.get("event_id"), str):
        return str(relates["event_id"])
    return None


def replied_to(content: dict[str, Any]) -> str | None:
    in_reply_to = (content.get("m.relates_to") or {}).get("m.in_reply_to") or {}
    event_id = in_reply_to.get("event_id")
    return event_id if isinstance(event_id, str) else None


def image_caption(content: dict[str, Any]) -> str:
    """An image's body is its caption only when a separate `filename` is given."""
    body = str(content.get("body", ""))
    filename = content.get("filename")
    return body if filename and filename != body else ""


class Intake:
    def __init__(self, identity: BotIdentity, catchup_window_s: int) -> None:
        self.identity = identity
        self._catchup_window_ms = catchup_window_s * 1000
        self._joined_at_ms: dict[str, int] = {}

    def note_joins(self, room_id: str, events: list[Event]) -> bool:
        """Remember when the bot joined `room_id` if these events say so; True if they do."""
        for event in events:
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.identity.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                self._joined_at_ms[room_id] = event.server_timestamp
                return True
        return False

    def job_for(self, room: MatrixRoom, event: Event) -> Job | None:
        source = getattr(event, "source", None) or {}
        if source.get("type") != "m.room.message" or self.is_stale(room.room_id, event.server_timestamp):
            return None
        content: dict[str, Any] = source.get("content", {})
        if (content.get("m.relates_to") or {}).get("rel_type") == "m.replace":
            return None  # edits of earlier messages are not new questions
        msgtype = str(content.get("msgtype", ""))
        body = (
            image_caption(content)
            if msgtype == "m.image"
            else strip_reply_fallback(str(content.get("body", "")))
        )
        mentions = (content.get("m.mentions") or {}).get("user_ids") or []
        message = IncomingMessage(
            sender=event.sender,
            body=body,
            msgtype=msgtype,
            mentioned_user_ids=tuple(m for m in mentions if isinstance(m, str)),
            is_direct=is_direct_chat(room),
        )
        decision = route(message, self.identity)
        log.debug(
            "event %s in %s: %s (%s)", event.event_id, room.room_id, decision.action.value, decision.reason
        )
        if decision.action is Action.IGNORE:
            return None
        target = ReplyTarget(room.room_id, event.event_id, event.sender, thread_root(content))
        media = MediaRef.from_content(content) if decision.with_image else None
        reply_to_image = replied_to(content) if decision.action is Action.ANSWER and media is None else None
        return Job(decision.action, target, decision.question, media, reply_to_image)

    def is_stale(self, room_id: str, timestamp_ms: int) -> bool:
        """History from before the bot joined, or older than the catch-up window, is never answered."""
        if timestamp_ms < self._joined_at_ms.get(room_id, 0):
            return True
        return time.time() * 1000 - timestamp_ms > self._catchup_window_ms

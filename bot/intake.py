"""From Matrix events to jobs: parse each event (`bot.events`), ask the router, and
describe the work to do. Pure: no sending and no nio here."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from bot.events import (
    Message,
    Reaction,
    Redaction,
    own_join_time,
    parse_message,
    parse_reaction,
    parse_redaction,
)
from bot.jobs import Job
from bot.routing import Action, IncomingMessage, reaction_meaning, route
from bot.values import BotIdentity, ReplyTarget
from common.matrix_ids import server_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomFacts:
    """What routing needs to know about the room an event came from."""

    room_id: str
    is_direct: bool


class Intake:
    def __init__(
        self, identity: BotIdentity, catchup_window_s: int, allowed_servers: frozenset[str] | None = None
    ) -> None:
        self.identity = identity
        # People of these servers may invite and ask the bot (by default only its own).
        self._allowed_servers = allowed_servers or frozenset({identity.server_name})
        self._catchup_window_ms = catchup_window_s * 1000
        self._joined_at_ms: dict[str, int] = {}

    def note_joins(self, room_id: str, sources: Iterable[object]) -> bool:
        """Remember when the bot joined `room_id` if these events say so; True if they do."""
        for source in sources:
            joined_at = own_join_time(source, self.identity.user_id)
            if joined_at is not None:
                self._joined_at_ms[room_id] = joined_at
                return True
        return False

    def accepts_invite_from(self, inviter: str) -> bool:
        return server_of(inviter) in self._allowed_servers

    def job_for(self, room: RoomFacts, source: object, now_ms: int | None = None) -> Job | None:
        """The job for one event, or None. Raises `MalformedEvent` for a message with a
        broken shape; nothing else escapes for any input."""
        message = parse_message(source)
        if message is None:
            redaction = parse_redaction(source)
            if redaction is not None:
                return self._unindex_job(room, redaction, now_ms)
            reaction = parse_reaction(source)
            return self._reaction_job(room, reaction, now_ms) if reaction else None
        if message.is_edit:  # edits of earlier messages are not new questions
            return None
        if server_of(message.sender) not in self._allowed_servers:
            return None
        if self.is_stale(room.room_id, message.timestamp_ms, now_ms):
            return None
        decision = route(_routing_input(message, room), self.identity)
        log.debug(
            "event %s in %s: %s (%s)", message.event_id, room.room_id, decision.action.value, decision.reason
        )
        if decision.action is Action.IGNORE:
            return None
        target = ReplyTarget(room.room_id, message.event_id, message.sender, message.thread_root)
        media = message.media if decision.with_image or decision.action is Action.INDEX else None
        reply_to_image = message.reply_to if decision.action is Action.ANSWER and not media else None
        return Job(
            decision.action,
            target,
            message.file_name if decision.action is Action.INDEX else decision.question,
            media,
            reply_to_image,
            received_ms=message.timestamp_ms,
            command=decision.command,
        )

    def _unindex_job(self, room: RoomFacts, redaction: Redaction, now_ms: int | None) -> Job | None:
        """A removed message may have been a file of the room's knowledge: forget it."""
        if self.is_stale(room.room_id, redaction.timestamp_ms, now_ms):
            return None
        target = ReplyTarget(room.room_id, redaction.event_id, redaction.sender)
        return Job(Action.UNINDEX, target, redaction.redacts, received_ms=redaction.timestamp_ms)

    def _reaction_job(self, room: RoomFacts, reaction: Reaction, now_ms: int | None) -> Job | None:
        """🔁, ⏩, 👍 or 👎 from a person of an allowed server; whether it is on one of the
        bot's answers, and theirs to use, is for `bot.reactions` to find out."""
        meaning = reaction_meaning(reaction.key)
        if meaning is None or reaction.sender == self.identity.user_id:
            return None
        if server_of(reaction.sender) not in self._allowed_servers:
            return None
        if self.is_stale(room.room_id, reaction.timestamp_ms, now_ms):
            return None
        target = ReplyTarget(room.room_id, reaction.event_id, reaction.sender)
        return Job(Action.REACT, target, meaning, received_ms=reaction.timestamp_ms, about=reaction.about)

    def is_stale(self, room_id: str, timestamp_ms: int, now_ms: int | None = None) -> bool:
        """History from before the bot joined, or older than the catch-up window, is never answered."""
        if timestamp_ms < self._joined_at_ms.get(room_id, 0):
            return True
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return now_ms - timestamp_ms > self._catchup_window_ms


def _routing_input(message: Message, room: RoomFacts) -> IncomingMessage:
    return IncomingMessage(
        sender=message.sender,
        body=message.body,
        msgtype=message.msgtype,
        mentioned_user_ids=message.mentioned_user_ids,
        is_direct=room.is_direct,
        timestamp_ms=message.timestamp_ms,
    )

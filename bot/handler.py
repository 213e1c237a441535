"""From Matrix events to the bot's work: build the routing input from each event, ask
the router, and hand answers and commands to the per-conversation task queue."""

from __future__ import annotations

import logging
import time
from typing import Any

from nio import InviteMemberEvent, MatrixRoom, RoomMemberEvent

from bot import strings
from bot.answering import Answerer
from bot.assistant import ModelUnavailable
from bot.commands import CommandRunner, help_text
from bot.formatting import message_content
from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaRef
from bot.routing import Action, BotIdentity, Decision, IncomingMessage, route, strip_reply_fallback
from bot.streaming import ReplyTarget
from bot.tasks import ConversationTasks

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


class EventHandler:
    def __init__(
        self,
        identity: BotIdentity,
        answerer: Answerer,
        commands: CommandRunner,
        matrix: MatrixIO,
        tasks: ConversationTasks,
        catchup_window_s: int,
    ) -> None:
        self.identity = identity
        self._answerer = answerer
        self._commands = commands
        self._matrix = matrix
        self._tasks = tasks
        self._catchup_window_ms = catchup_window_s * 1000
        self._joined_at_ms: dict[str, int] = {}
        self._greet_after_join: set[str] = set()

    # --- membership --------------------------------------------------------------------

    async def on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.identity.user_id or event.membership != "invite":
            return
        if event.content.get("is_direct"):
            self._greet_after_join.add(room.room_id)
        self._tasks.spawn(self._join(room.room_id))

    async def on_membership(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        if event.state_key != self.identity.user_id or event.membership != "join":
            return
        self._joined_at_ms.setdefault(room.room_id, event.server_timestamp)
        if room.room_id in self._greet_after_join:
            # Greet once the join has come back through sync, so nio knows the room.
            self._greet_after_join.discard(room.room_id)
            greeting = strings.GREETING.format(commands=help_text(self.identity.localpart))
            self._tasks.spawn(self._send_quietly(room.room_id, message_content(greeting, notice=True)))

    async def _join(self, room_id: str) -> None:
        await self._matrix.join(room_id)

    async def _send_quietly(self, room_id: str, content: dict[str, Any]) -> None:
        try:
            await self._matrix.send(room_id, content)
        except MatrixActionFailed as error:
            log.warning("%s", error)

    # --- messages ----------------------------------------------------------------------

    async def on_message(self, room: MatrixRoom, event: Any) -> None:
        """Text and image messages, decrypted by nio when the room is encrypted."""
        if self._is_stale(room.room_id, event.server_timestamp):
            return
        content: dict[str, Any] = event.source.get("content", {})
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
            return
        target = ReplyTarget(room.room_id, event.event_id, event.sender, thread_root(content))
        self._tasks.submit((event.sender, room.room_id), self._act(decision, target, content))

    async def _act(self, decision: Decision, target: ReplyTarget, content: dict[str, Any]) -> None:
        try:
            if decision.action is Action.ANSWER:
                image = await self._image_for(decision, target.room_id, content)
                await self._answerer.answer(target, decision.question, image)
            elif decision.action is Action.COMMAND and decision.command is not None:
                text = await self._commands.run(decision.command, target.asker, target.room_id)
                await self._matrix.send(target.room_id, target.reply(text, notice=True))
            elif decision.action is Action.PROMPT_FOR_QUESTION:
                text = strings.EMPTY_QUESTION.format(bot=self.identity.localpart)
                await self._matrix.send(target.room_id, target.reply(text, notice=True))
        except ModelUnavailable:
            await self._matrix.send(target.room_id, target.reply(strings.AI_UNAVAILABLE, notice=True))
        except MatrixActionFailed as error:
            log.warning("%s", error)

    async def _image_for(self, decision: Decision, room_id: str, content: dict[str, Any]) -> MediaRef | None:
        if decision.with_image:
            return MediaRef.from_content(content)
        parent_id = replied_to(content)
        if parent_id is None:
            return None
        parent = await self._matrix.event(room_id, parent_id)
        if parent and parent.get("content", {}).get("msgtype") == "m.image":
            return MediaRef.from_content(parent["content"])
        return None

    def _is_stale(self, room_id: str, timestamp_ms: int) -> bool:
        """History from before the bot joined, or older than the catch-up window, is never answered."""
        if timestamp_ms < self._joined_at_ms.get(room_id, 0):
            return True
        return time.time() * 1000 - timestamp_ms > self._catchup_window_ms

"""The bot's lifecycle: log in, sync, hand each message to the router, and answer in
tasks of their own so the sync loop never waits for the model."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinError,
    MatrixRoom,
    RoomMemberEvent,
    RoomMessageText,
    RoomSendError,
    SyncResponse,
)

from bot import credentials, strings
from bot.assistant import Assistant, ModelUnavailable
from bot.config import BotSettings
from bot.replies import reply_content
from bot.routing import Action, BotIdentity, IncomingMessage, route
from bot.sync_position import SyncPosition

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TIMELINE_FILTER = {"room": {"timeline": {"limit": 50}}}
# The first sync of a fresh install skips history: only what is said from now on counts.
FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}}
TYPING_TIMEOUT_MS = 30_000


class Bot:
    def __init__(
        self, settings: BotSettings, client: AsyncClient, assistant: Assistant, position: SyncPosition
    ) -> None:
        self._settings = settings
        self._client = client
        self._assistant = assistant
        self._position = position
        self.identity = BotIdentity(settings.user_id, settings.bot_username)
        self._tasks: set[asyncio.Task[None]] = set()
        self._joined_at_ms: dict[str, int] = {}
        client.add_event_callback(self._on_membership, RoomMemberEvent)  # type: ignore[arg-type]
        client.add_event_callback(self._on_message, RoomMessageText)  # type: ignore[arg-type]
        client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]

    async def run(self, stop: asyncio.Event) -> None:
        await self._log_in(stop)
        since = self._position.load()
        backoff = 1.0
        while not stop.is_set():
            sync_filter = TIMELINE_FILTER if since else FIRST_SYNC_FILTER
            response = await self._until_stopped(
                self._client.sync(timeout=SYNC_TIMEOUT_MS, since=since, sync_filter=sync_filter), stop
            )
            if response is None:
                break
            if isinstance(response, SyncResponse):
                since = response.next_batch
                self._position.save(since)
                self._position.mark_healthy(self.identity.user_id)
                await self._crypto_housekeeping()
                backoff = 1.0
                continue
            log.warning(
                "sync failed (%s); retrying in %.0f s", getattr(response, "message", response), backoff
            )
            await self._wait(stop, backoff)
            backoff = min(backoff * 2, 30.0)
        await self.drain()

    async def _crypto_housekeeping(self) -> None:
        """Upload, query and claim keys as nio asks, so encrypted rooms work."""
        client = self._client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def drain(self, timeout: float = 5.0) -> None:
        """Give answers in flight a moment to finish, then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()

    async def _log_in(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                stored = await credentials.log_in(
                    self._client, self._settings.bot_password, self._settings.state_dir / "login.json"
                )
                log.info("logged in as %s (device %s)", stored.user_id, stored.device_id)
                return
            except (TimeoutError, OSError) as error:
                log.warning("homeserver unreachable (%s); retrying in %.0f s", error, backoff)
            await self._wait(stop, backoff)
            backoff = min(backoff * 2, 30.0)

    @staticmethod
    async def _wait(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    @staticmethod
    async def _until_stopped(call: Coroutine[Any, Any, Any], stop: asyncio.Event) -> Any:
        work = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not work.done():
            work.cancel()
            return None
        return work.result()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- callbacks: decide, then hand the work to a task -------------------------------

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.identity.user_id and event.membership == "invite":
            self._spawn(self._join(room.room_id))

    async def _on_membership(self, room: MatrixRoom, event: RoomMemberEvent) -> None:
        if event.state_key == self.identity.user_id and event.membership == "join":
            self._joined_at_ms.setdefault(room.room_id, event.server_timestamp)

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if self._is_stale(room.room_id, event.server_timestamp):
            return
        content = event.source.get("content", {})
        mentions = content.get("m.mentions", {}).get("user_ids", [])
        message = IncomingMessage(
            sender=event.sender,
            body=event.body,
            msgtype=content.get("msgtype", "m.text"),
            mentioned_user_ids=tuple(m for m in mentions if isinstance(m, str)),
        )
        decision = route(message, self.identity)
        log.debug(
            "event %s in %s: %s (%s)", event.event_id, room.room_id, decision.action.value, decision.reason
        )
        if decision.action is Action.ANSWER:
            self._spawn(self._answer(room.room_id, event.event_id, event.sender, decision.question))
        elif decision.action is Action.PROMPT_FOR_QUESTION:
            text = strings.EMPTY_QUESTION.format(bot=self.identity.localpart)
            self._spawn(
                self._send(room.room_id, reply_content(text, event.event_id, event.sender, notice=True))
            )

    def _is_stale(self, room_id: str, timestamp_ms: int) -> bool:
        """History from before the bot joined, or older than the catch-up window, is never answered."""
        if timestamp_ms < self._joined_at_ms.get(room_id, 0):
            return True
        return time.time() * 1000 - timestamp_ms > self._settings.catchup_window_s * 1000

    # --- actions -----------------------------------------------------------------------

    async def _join(self, room_id: str) -> None:
        response = await self._client.join(room_id)
        if isinstance(response, JoinError):
            log.warning("could not join %s: %s", room_id, response.message)
        else:
            log.info("joined %s", room_id)

    async def _answer(self, room_id: str, event_id: str, asker: str, question: str) -> None:
        await self._client.room_typing(room_id, True, timeout=TYPING_TIMEOUT_MS)
        try:
            text = await self._assistant.answer(question)
            content = reply_content(text, event_id, asker)
        except ModelUnavailable:
            content = reply_content(strings.AI_UNAVAILABLE, event_id, asker, notice=True)
        finally:
            await self._client.room_typing(room_id, False)
        await self._send(room_id, content)

    async def _send(self, room_id: str, content: dict[str, Any]) -> None:
        response = await self._client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if isinstance(response, RoomSendError):
            log.warning("could not send to %s: %s", room_id, response.message)

"""The bot's lifecycle: log in (retrying while the homeserver is down), then sync,
saving the sync position after each batch of events has been handed to the handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    RoomEncryptedImage,
    RoomMemberEvent,
    RoomMessageImage,
    RoomMessageText,
    SyncResponse,
)

from bot import credentials
from bot.config import BotSettings
from bot.handler import EventHandler
from bot.sync_position import SyncPosition
from bot.tasks import ConversationTasks

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TIMELINE_FILTER = {"room": {"timeline": {"limit": 50}}}
# The first sync of a fresh install skips history: only what is said from now on counts.
FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}}
MAX_BACKOFF_S = 30.0


class BotRunner:
    def __init__(
        self,
        settings: BotSettings,
        client: AsyncClient,
        handler: EventHandler,
        tasks: ConversationTasks,
        position: SyncPosition,
    ) -> None:
        self._settings = settings
        self._client = client
        self._tasks = tasks
        self._position = position
        self._user_id = settings.user_id
        client.add_event_callback(handler.on_membership, RoomMemberEvent)  # type: ignore[arg-type]
        client.add_event_callback(
            handler.on_message,
            (RoomMessageText, RoomMessageImage, RoomEncryptedImage),  # type: ignore[arg-type]
        )
        client.add_event_callback(handler.on_invite, InviteMemberEvent)  # type: ignore[arg-type]

    async def run(self, stop: asyncio.Event) -> None:
        await self._log_in(stop)
        since = self._position.load()
        backoff = 1.0
        while not stop.is_set():
            sync_filter = TIMELINE_FILTER if since else FIRST_SYNC_FILTER
            response = await _until_stopped(
                self._client.sync(timeout=SYNC_TIMEOUT_MS, since=since, sync_filter=sync_filter), stop
            )
            if response is None:
                break
            if isinstance(response, SyncResponse):
                since = response.next_batch
                self._position.save(since)
                self._position.mark_healthy(self._user_id)
                await self._crypto_housekeeping()
                backoff = 1.0
                continue
            log.warning(
                "sync failed (%s); retrying in %.0f s", getattr(response, "message", response), backoff
            )
            await _wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        await self._tasks.drain()

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
            await _wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _until_stopped(call: Coroutine[Any, Any, Any], stop: asyncio.Event) -> Any:
    """Await `call` unless `stop` is set first; then cancel it and return None."""
    work = asyncio.ensure_future(call)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not work.done():
        work.cancel()
        return None
    return work.result()

"""The live side of the portal chat: a per-browser relay of the user's Matrix sync as
server-sent events. The access token stays on the server; the browser only receives the
room list and safe event descriptions (see chat_events). The event id of each message is
the sync position, so a reconnecting browser resumes exactly where it stopped."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from common.synapse_admin import SynapseError
from portal.accounts.logins import PortalUser
from portal.app_keys import MATRIX, SETTINGS, current_user
from portal.chat import strings
from portal.chat.events import describe
from portal.chat.rooms import RoomList

log = logging.getLogger(__name__)


class OpenStreams:
    """The streams being served: so shutdown can end them, and so one person cannot hold
    an unbounded number of long polls on the homeserver."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.per_user: Counter[str] = Counter()


OPEN_STREAMS = web.AppKey("chat_open_streams", OpenStreams)
# Long-poll length: also how often an idle stream writes, which is how a closed tab is noticed.
POLL_MS = 15_000
RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0)
MAX_STREAMS_PER_USER = 10  # open chat tabs per person
LIVE_TIMELINE_LIMIT = 50


def sync_filter(timeline_limit: int) -> str:
    """Rooms, their state (members only as needed), typing, receipts (they carry the
    unread-count changes) and `m.direct`; no presence, no other account data."""
    return json.dumps(
        {
            "presence": {"not_types": ["*"]},
            "account_data": {"types": ["m.direct"]},
            "room": {
                "state": {"lazy_load_members": True},
                "ephemeral": {"types": ["m.typing", "m.receipt"]},
                "account_data": {"not_types": ["*"]},
                "timeline": {"limit": timeline_limit, "lazy_load_members": True},
            },
        }
    )


FIRST_SYNC_FILTER = sync_filter(1)  # the room list, with each room's newest event
LIVE_SYNC_FILTER = sync_filter(LIVE_TIMELINE_LIMIT)


class _Gone(Exception):
    """The browser went away, or the user's login ended."""


class _Relay:
    def __init__(self, request: web.Request, user: PortalUser, response: web.StreamResponse) -> None:
        self._matrix = request.app[MATRIX]
        self._user = user
        self._response = response
        self.rooms = RoomList(user.user_id, request.app[SETTINGS].bot_user_id)
        self._homeserver_up = True

    async def send(self, event: str, data: dict[str, Any], event_id: str | None = None) -> None:
        lines = [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
        if event_id:
            lines.insert(0, f"id: {event_id}")
        try:
            await self._response.write(("\n".join(lines) + "\n\n").encode())
        except (ConnectionError, RuntimeError) as error:
            raise _Gone from error

    async def sync(self, since: str | None, timeout_ms: int, sync_filter: str) -> dict[str, Any]:
        """One sync, retried with backoff while the homeserver is unreachable."""
        for attempt in itertools.count():
            try:
                result = await self._matrix.sync(
                    self._user.access_token,
                    since,
                    timeout_ms,
                    sync_filter,
                    request_timeout=timeout_ms / 1000 + 30,
                )
            except SynapseError as error:
                if error.status == 401:
                    await self.send("logout", {"reason": strings.SESSION_ENDED})
                    raise _Gone from error
                if error.status < 500 and error.status != 429:
                    raise
            except (TimeoutError, aiohttp.ClientError):
                pass
            else:
                if not self._homeserver_up:
                    self._homeserver_up = True
                    await self.send("status", {"homeserver": "up"})
                return result
            if self._homeserver_up:
                self._homeserver_up = False
                log.warning("chat relay for %s: homeserver unreachable, retrying", self._user.user_id)
                await self.send("status", {"homeserver": "down"})
            await asyncio.sleep(RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)])
        raise AssertionError("unreachable")

    def changes(self, response: dict[str, Any]) -> dict[str, Any]:
        changed, gone = self.rooms.apply(response)
        joined = (response.get("rooms") or {}).get("join") or {}
        has_events = any((data.get("timeline") or {}).get("events") for data in joined.values())
        names = self.rooms.names() if has_events else {}  # most syncs are typing or receipts
        events: dict[str, list[dict[str, Any]]] = {}
        limited: list[str] = []
        typing: dict[str, list[str]] = {}
        for room_id, data in joined.items():
            timeline = data.get("timeline") or {}
            described = [describe(e, names) for e in timeline.get("events") or []]
            if kept := [d for d in described if d is not None]:
                events[room_id] = kept
            if timeline.get("limited"):
                limited.append(room_id)
            if any(e.get("type") == "m.typing" for e in (data.get("ephemeral") or {}).get("events") or []):
                typing[room_id] = self.rooms.typing_names(room_id)
        return {
            "rooms": self.rooms.summaries(changed),
            "gone": sorted(gone),
            "events": events,
            "limited": limited,
            "typing": typing,
        }

    async def run(self, resume_from: str | None) -> None:
        first = await self.sync(None, 0, FIRST_SYNC_FILTER)
        self.rooms.apply(first)
        since = resume_from or str(first["next_batch"])
        await self.send("rooms", {"me": self._user.user_id, "rooms": self.rooms.summaries()}, since)
        while True:
            try:
                response = await self.sync(since, POLL_MS, LIVE_SYNC_FILTER)
            except SynapseError:  # a position the homeserver does not know: start from now
                since = str(first["next_batch"])
                await self.send("reset", {}, since)
                continue
            since = str(response["next_batch"])
            await self.send("sync", self.changes(response), since)


async def chat_stream(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(text=strings.LOG_IN_TO_CHAT)
    streams = request.app[OPEN_STREAMS]
    if streams.per_user[user.user_id] >= MAX_STREAMS_PER_USER:
        raise web.HTTPTooManyRequests(text=strings.TOO_MANY_TABS)
    resume_from = request.query.get("since") or request.headers.get("Last-Event-ID") or None
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    task = asyncio.current_task()
    assert task is not None
    streams.tasks.add(task)
    streams.per_user[user.user_id] += 1
    try:
        await _Relay(request, user, response).run(resume_from)
    except _Gone:
        pass
    finally:
        streams.tasks.discard(task)
        streams.per_user[user.user_id] -= 1
        if streams.per_user[user.user_id] <= 0:
            del streams.per_user[user.user_id]
    return response


async def track_open_streams(app: web.Application) -> AsyncIterator[None]:
    app[OPEN_STREAMS] = OpenStreams()
    yield


async def close_open_streams(app: web.Application) -> None:
    """On shutdown, end the streams at once rather than waiting out their long polls."""
    for task in list(app[OPEN_STREAMS].tasks):
        task.cancel()

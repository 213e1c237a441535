"""A test user: a real matrix-nio client registered on the test Synapse, with helpers
to send messages and wait (by syncing, never sleeping) for the events a person would see."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from nio import AsyncClient, AsyncClientConfig, JoinResponse, RoomSendResponse, SyncResponse

from common.synapse_admin import register_user
from tests.synapse_server import SynapseServer

_counter = itertools.count()
# Test clients see every event, so a burst never hides one from an assertion.
WIDE_TIMELINE = {"room": {"timeline": {"limit": 500}}}
Event = dict[str, Any]


class MatrixUser:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.seen: dict[str, list[Event]] = {}  # every timeline event synced, per room

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def register(
        cls, synapse: SynapseServer, prefix: str = "user", *, store_path: str | None = None
    ) -> MatrixUser:
        username = f"{prefix}{next(_counter)}_{int(time.time() * 1000) % 10**8}"
        async with aiohttp.ClientSession() as session:
            registration = await register_user(
                session, synapse.url, synapse.shared_secret, username, "correct horse battery"
            )
        client = AsyncClient(
            synapse.url,
            registration.user_id,
            store_path=store_path or "",
            config=AsyncClientConfig(encryption_enabled=store_path is not None, request_timeout=30),
        )
        client.restore_login(registration.user_id, registration.device_id, registration.access_token)
        user = cls(client)
        await user.sync()
        return user

    async def close(self) -> None:
        await self.client.close()

    async def sync(self, timeout_ms: int = 0) -> SyncResponse:
        response = await self.client.sync(
            timeout=timeout_ms, since=self.client.next_batch, full_state=False, sync_filter=WIDE_TIMELINE
        )
        assert isinstance(response, SyncResponse), response
        for room_id, room in response.rooms.join.items():
            self.seen.setdefault(room_id, []).extend(event.source for event in room.timeline.events)
        return response

    async def join(self, room: str) -> str:
        response = await self.client.join(room)
        assert isinstance(response, JoinResponse), response
        await self.sync()
        return response.room_id

    async def send(self, room_id: str, body: str, **extra: Any) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body, **extra}
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def wait_for(
        self, room_id: str, predicate: Callable[[Event], bool], timeout: float = 30.0
    ) -> Event:
        """Sync until an event in `room_id` satisfies `predicate`; returns its source."""
        found = await self.collect(room_id, predicate, count=1, timeout=timeout)
        return found[0]

    async def collect(
        self, room_id: str, predicate: Callable[[Event], bool], count: int, timeout: float = 30.0
    ) -> list[Event]:
        deadline = time.monotonic() + timeout
        found: list[Event] = []
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"saw {len(found)} of {count} expected events in {room_id}")
            response = await self.sync(timeout_ms=int(min(remaining, 5) * 1000))
            room = response.rooms.join.get(room_id)
            for event in room.timeline.events if room else []:
                if predicate(event.source):
                    found.append(event.source)
        return found


def replies_to(event_id: str, sender: str | None = None) -> Callable[[Event], bool]:
    """Matches a message that replies to `event_id` (optionally from `sender`)."""

    def matches(event: Event) -> bool:
        content = event.get("content", {})
        relates = content.get("m.relates_to", {})
        return (
            event.get("type") == "m.room.message"
            and relates.get("m.in_reply_to", {}).get("event_id") == event_id
            and (sender is None or event.get("sender") == sender)
        )

    return matches


class AnswerView:
    """What a client shows for the bot's answer to one question: the reply, with its
    latest `m.replace` edit applied."""

    def __init__(self, question_id: str, sender: str) -> None:
        self.question_id = question_id
        self.sender = sender
        self.reply: Event | None = None
        self.edits: list[Event] = []
        self.other_replies: list[Event] = []

    def feed(self, event: Event) -> None:
        content = event.get("content", {})
        relates = content.get("m.relates_to", {})
        if event.get("sender") != self.sender or event.get("type") != "m.room.message":
            return
        if relates.get("m.in_reply_to", {}).get("event_id") == self.question_id:
            if self.reply is None:
                self.reply = event
            else:
                self.other_replies.append(event)
        elif (
            self.reply
            and relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == self.reply["event_id"]
        ):
            self.edits.append(event)

    @property
    def content(self) -> dict[str, Any]:
        if self.reply is None:
            return {}
        if self.edits:
            return dict(self.edits[-1]["content"]["m.new_content"])
        return dict(self.reply["content"])

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


async def wait_for_answer(
    user: MatrixUser,
    room_id: str,
    question_id: str,
    sender: str,
    done: Callable[[AnswerView], bool] | str | None = None,
    timeout: float = 30.0,
    view: AnswerView | None = None,
) -> AnswerView:
    """Sync until the answer to `question_id` satisfies `done` (by default: any reply;
    a string: the shown body equals it). Pass `view` to keep following an answer."""
    if view is None:
        view = AnswerView(question_id, sender)
        for event in user.seen.get(room_id, []):  # events an earlier wait already synced
            view.feed(event)
    if done is None:
        check: Callable[[AnswerView], bool] = lambda v: v.reply is not None  # noqa: E731
    elif isinstance(done, str):
        expected = done
        check = lambda v: v.body == expected  # noqa: E731
    else:
        check = done
    deadline = time.monotonic() + timeout
    while not check(view):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"answer to {question_id} not as expected; shown: {view.body!r}")
        response = await user.sync(timeout_ms=int(min(remaining, 5) * 1000))
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            view.feed(event.source)
    return view


async def open_direct_chat(user: MatrixUser, bot_id: str, timeout: float = 30.0) -> tuple[str, Event]:
    """Create a direct chat with the bot, as Element does; returns the room and the greeting."""
    from nio import RoomCreateResponse, RoomPreset

    created = await user.client.room_create(
        is_direct=True, invite=[bot_id], preset=RoomPreset.trusted_private_chat
    )
    assert isinstance(created, RoomCreateResponse), created
    greeting = await user.wait_for(
        created.room_id,
        lambda e: e.get("sender") == bot_id and e.get("content", {}).get("msgtype") == "m.notice",
        timeout=timeout,
    )
    return created.room_id, greeting


async def wait_until_member(user: MatrixUser, room_id: str, member_id: str, timeout: float = 30.0) -> Event:
    """Sync until `member_id`'s join to `room_id` arrives (for example, an invited bot)."""
    return await user.wait_for(
        room_id,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == member_id
            and e.get("content", {}).get("membership") == "join"
        ),
        timeout=timeout,
    )


async def room_with_bot(
    owner: MatrixUser,
    bot_id: str,
    *others: MatrixUser,
    alias: str | None = None,
    visibility: str = "shared",
    bot_level: int | None = None,
) -> str:
    """A new private group room of `owner` (its creator) with the bot and `others` joined;
    returns once the bot has joined. `bot_level`: the bot's power level (None: the default)."""
    from nio import RoomCreateResponse, RoomPreset

    created = await owner.client.room_create(
        preset=RoomPreset.private_chat,
        invite=[bot_id, *(user.user_id for user in others)],
        alias=alias,
        power_level_override={"users": {bot_id: bot_level}} if bot_level is not None else None,
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": visibility},
            }
        ],
    )
    assert isinstance(created, RoomCreateResponse), created
    await wait_until_member(owner, created.room_id, bot_id)
    for user in others:
        await user.join(created.room_id)
    return created.room_id

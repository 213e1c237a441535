"""The contracts of the event ledger, the portal's login store and the readiness
heartbeats, each run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.heartbeats import HeartbeatStore
from appdb.models import EVENT_DONE, EVENT_PENDING, EVENT_SKIPPED, BotEvent, PortalLogin
from bot.jobs import Job
from bot.ledger import CLAIM_ROWS_PER_STATEMENT, EventLedger
from bot.routing import Action
from bot.values import EncryptedFile, MediaRef, ReplyTarget
from portal.accounts.logins import LoginStore
from tests.db import engine_for

ROOM = "!room:localhost"


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


def _job(event_id: str, received_ms: int, **extra: object) -> Job:
    target = ReplyTarget(ROOM, event_id, "@alice:localhost")
    return Job(Action.ANSWER, target, f"question {event_id}", received_ms=received_ms, **extra)  # type: ignore[arg-type]


async def _status(engine: AsyncEngine, event_id: str) -> str:
    async with async_sessionmaker(engine)() as session:
        return str((await session.get(BotEvent, event_id)).status)  # type: ignore[union-attr]


async def test_the_ledger_takes_each_event_once_and_gives_back_the_unfinished(engine: AsyncEngine) -> None:
    ledger = EventLedger(engine)
    image = MediaRef("image/png", file=EncryptedFile("mxc://s/m", "key", "hash", "iv"), size=10)
    first = await ledger.claim([_job("$a", 1000), _job("$b", 2000, media=image), _job("$a", 1000)])
    assert [job.event_id for job in first] == ["$a", "$b"]
    assert await ledger.claim([_job("$a", 1000), _job("$c", 3000)]) == [_job("$c", 3000)]
    await ledger.complete("$a")
    pending = await ledger.pending(since_ms=0)
    assert [job.event_id for job in pending] == ["$b", "$c"]  # oldest first
    assert pending[0].media == image and pending[0].received_ms == 2000  # read back whole
    assert await ledger.pending(since_ms=2500) == [_job("$c", 3000)]
    await ledger.forget_before(2500)
    assert [job.event_id for job in await ledger.pending(since_ms=0)] == ["$c"]
    assert await _status(engine, "$c") == EVENT_PENDING


async def test_a_burst_larger_than_one_statement_is_taken_whole_and_once(engine: AsyncEngine) -> None:
    """A sync after an outage can bring hundreds of questions: all are taken on, each once,
    also when some were taken on before."""
    ledger = EventLedger(engine)
    burst = [_job(f"$q{i}", 1000 + i) for i in range(3 * CLAIM_ROWS_PER_STATEMENT + 7)]
    early = await ledger.claim(burst[100:120])
    again = await ledger.claim(burst + burst[:5])
    assert [job.event_id for job in early] == [f"$q{i}" for i in range(100, 120)]
    assert [job.event_id for job in again] == [job.event_id for job in burst[:100] + burst[120:]]
    assert len(await ledger.pending(since_ms=0)) == len(burst)


async def test_a_skipped_event_is_recorded_once_and_never_pending(engine: AsyncEngine) -> None:
    ledger = EventLedger(engine)
    await ledger.skip("$bad", ROOM, "@mallory:localhost", 1000)
    await ledger.skip("$bad", ROOM, "@mallory:localhost", 1000)  # seen again after a restart
    assert await ledger.is_recorded("$bad") and not await ledger.is_recorded("$other")
    assert await ledger.claim([_job("$bad", 1000)]) == []  # never taken on as a job
    assert await ledger.pending(since_ms=0) == []
    assert await _status(engine, "$bad") == EVENT_SKIPPED


async def test_a_stored_job_that_cannot_be_read_is_skipped_not_retried(engine: AsyncEngine) -> None:
    ledger = EventLedger(engine)
    await ledger.claim([_job("$old", 1000), _job("$fine", 2000)])
    async with async_sessionmaker(engine).begin() as session:
        await session.execute(update(BotEvent).where(BotEvent.event_id == "$old").values(job='{"action": 5}'))
    assert [job.event_id for job in await ledger.pending(since_ms=0)] == ["$fine"]
    assert await _status(engine, "$old") == EVENT_SKIPPED
    await ledger.complete("$fine")
    assert await _status(engine, "$fine") == EVENT_DONE


async def test_logins_keep_the_token_encrypted_and_end_when_idle_or_old(engine: AsyncEngine) -> None:
    store = LoginStore(engine, "portal key", idle_s=3600, max_s=86400)
    user = await store.create("@alice:localhost", "syt_secret_token", "DEVICE")
    async with async_sessionmaker(engine)() as session:
        row = (await session.execute(select(PortalLogin))).scalar_one()
    assert "syt_secret_token" not in row.access_token  # the bot shares this database
    assert await store.find(user.session_id) == user
    assert await LoginStore(engine, "another key", 3600, 86400).find(user.session_id) is None

    now = datetime.now(UTC)
    assert await store.find(user.session_id, now + timedelta(minutes=50)) == user  # still active
    assert await store.find(user.session_id, now + timedelta(minutes=110)) == user  # seen at 50 min
    assert await store.find(user.session_id, now + timedelta(hours=3, minutes=51)) is None  # idle
    assert await store.take_expired(now + timedelta(minutes=100)) == []
    ended = await store.take_expired(now + timedelta(hours=4))
    assert [u.access_token for u in ended] == ["syt_secret_token"]  # handed over to be revoked
    assert await store.find(user.session_id) is None

    busy = await store.create("@bob:localhost", "syt_bob", "D2")
    for hours in range(0, 25):  # used every hour, still ended after a day
        await store.find(busy.session_id, now + timedelta(hours=hours, minutes=1))
    assert [u.user_id for u in await store.take_expired(now + timedelta(hours=24, minutes=5))] == [
        "@bob:localhost"
    ]


async def test_heartbeats_say_who_is_ready_and_since_when(engine: AsyncEngine) -> None:
    beats = HeartbeatStore(engine)
    assert await beats.read("bot") is None
    await beats.beat("bot", False, {"rooms": {"#public:localhost": None}})
    await beats.beat("bot", True, {"rooms": {"#public:localhost": "!p:localhost"}})
    beat = await beats.read("bot")
    assert beat is not None and beat.ready and beat.detail["rooms"]["#public:localhost"] == "!p:localhost"
    assert beat.fresh(90) and not beat.fresh(90, now_ms=beat.updated_ms + 91_000)


async def test_memory_takes_text_with_nul_characters(engine: AsyncEngine) -> None:
    """PostgreSQL refuses NUL in text; a question or an answer holding one is still kept."""
    from appdb.conversations import ConversationStore

    memory = ConversationStore(engine, window_messages=10)
    await memory.append_turn("@alice:localhost", ROOM, "nul \x00 inside", "answer \x00 too")
    assert await memory.recent("@alice:localhost", ROOM) == [("human", "nul  inside"), ("ai", "answer  too")]


async def test_an_answer_is_remembered_and_marked_done_together_or_neither(engine: AsyncEngine) -> None:
    """The ledger marks the question answered inside the memory write's transaction."""
    from appdb.conversations import ConversationStore

    ledger, memory = EventLedger(engine), ConversationStore(engine)
    await ledger.claim([_job("$q", 1000), _job("$broken", 2000)])
    await memory.append_turn("@alice:localhost", ROOM, "q", "a", also=EventLedger.completion("$q"))
    assert await _status(engine, "$q") == EVENT_DONE

    async def fails(session: object) -> None:
        await EventLedger.completion("$broken")(session)  # type: ignore[arg-type]
        raise RuntimeError("the write failed half-way")

    with pytest.raises(RuntimeError):
        await memory.append_turn("@alice:localhost", ROOM, "lost", "turn", also=fails)
    assert await _status(engine, "$broken") == EVENT_PENDING  # resumed later, never half-done
    assert [content for _, content in await memory.recent("@alice:localhost", ROOM)] == ["q", "a"]


async def test_one_model_rule_for_the_bot_and_the_portal(engine: AsyncEngine) -> None:
    """`!model llama3` and the portal's `llama3` both mean `llama3:latest`; unknown names
    are refused in both, through the one ModelChoice."""
    from appdb.user_settings import UserSettingsStore
    from common.model_choice import ModelChoice, UnknownModel

    class Catalogue:
        async def names(self) -> list[str]:
            return ["llama3:latest", "llava:13b"]

    choice = ModelChoice(UserSettingsStore(engine), Catalogue(), "llama3:latest")  # type: ignore[arg-type]
    assert await choice.current("@alice:localhost") == "llama3:latest"
    assert await choice.choose("@alice:localhost", " llava:13b ") == "llava:13b"
    assert await choice.choose("@alice:localhost", "llama3") == "llama3:latest"
    assert await choice.current("@alice:localhost") == "llama3:latest"
    with pytest.raises(UnknownModel):
        await choice.choose("@alice:localhost", "llava")  # no `:latest` tag of llava exists

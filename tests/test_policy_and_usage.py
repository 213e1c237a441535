"""The assistant's policy and usage in the app database, on SQLite and PostgreSQL, and
the pure rules and the bot's gate that apply the policy (a quota reached today is free
again after midnight UTC): answers counted in the transaction that stores
the turn (so a rolled-back turn counts nothing), summed per person, room, model and
day; a policy written by the portal read back by the bot; unreadable values as defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import PlatformSetting
from appdb.policy_store import PolicyStore
from appdb.usage import Spent, UsageStore
from bot import strings
from bot.assistant_gate import AssistantGate
from common.assistant_policy import (
    AssistantAccess,
    Quota,
    Used,
    may_use,
    offered,
    quota_left,
    quota_reached,
)
from tests.db import engine_for

DAY = date(2026, 12, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


async def _count(
    engine: AsyncEngine, usage: UsageStore, user: str, room: str, model: str, spent: Spent, day: date
) -> None:
    async with async_sessionmaker(engine).begin() as session:
        await usage.count(user, room, model, spent, day)(session)


async def test_answers_are_summed_per_person_room_model_and_day(engine: AsyncEngine) -> None:
    usage = UsageStore(engine)
    for _ in range(3):
        await _count(engine, usage, "@ann:x", "!dm:x", "llama3", Spent(10, 20, 300), DAY)
    await _count(engine, usage, "@ann:x", "!public:x", "llava", Spent(5, 5, 100), DAY)
    await _count(engine, usage, "@bob:x", "!public:x", "llama3", Spent(1, 2, 3), DAY - timedelta(days=1))
    await _count(engine, usage, "@bob:x", "!public:x", "llama3", Spent(1, 2, 3), DAY - timedelta(days=40))

    assert await usage.used("@ann:x", DAY) == Used(answers=4, tokens=3 * 30 + 10)
    assert await usage.used("@bob:x", DAY) == Used(0, 0)
    report = await usage.report(days=30, until=DAY)
    assert [(r.key, r.answers, r.tokens_in, r.tokens_out, r.model_ms) for r in report.by_person] == [
        ("@ann:x", 4, 35, 65, 1000),
        ("@bob:x", 1, 1, 2, 3),  # the answer 40 days ago is outside the 30 days
    ]
    assert {r.key: r.answers for r in report.by_room} == {"!dm:x": 3, "!public:x": 2}
    assert {r.key: r.answers for r in report.by_model} == {"llama3": 4, "llava": 1}
    assert [(r.key, r.answers) for r in report.by_day] == [("2026-11-30", 1), ("2026-12-01", 4)]


async def test_an_answer_whose_turn_is_rolled_back_is_not_counted(engine: AsyncEngine) -> None:
    usage = UsageStore(engine)
    with pytest.raises(RuntimeError):
        async with async_sessionmaker(engine).begin() as session:
            await usage.count("@ann:x", "!dm:x", "llama3", Spent(1, 1, 1), DAY)(session)
            raise RuntimeError("the memory write failed")
    assert await usage.used("@ann:x", DAY) == Used(0, 0)


async def test_a_policy_written_by_the_portal_is_read_by_the_bot(engine: AsyncEngine) -> None:
    portal, bot = PolicyStore(engine), PolicyStore(engine, cache_s=0)
    assert (await bot.current()).access.mode == "everyone"
    await portal.set_access(AssistantAccess("people", frozenset({"@ann:x"})))
    await portal.set_quota(Quota(answers_per_day=5))
    await portal.set_allowed_models(frozenset({"llama3:latest"}))
    policy = await bot.current()
    assert policy.access == AssistantAccess("people", frozenset({"@ann:x"}))
    assert policy.quota == Quota(answers_per_day=5, tokens_per_day=None)
    assert policy.allowed_models == frozenset({"llama3:latest"})
    await portal.set_allowed_models(None)
    assert (await bot.current()).allowed_models is None


async def test_an_unreadable_setting_counts_as_its_default(engine: AsyncEngine) -> None:
    async with async_sessionmaker(engine).begin() as session:
        session.add(PlatformSetting(key="assistant_access", value="{not json"))
        session.add(PlatformSetting(key="quota", value='{"answers_per_day": "ten", "tokens_per_day": -3}'))
    policy = await PolicyStore(engine).read()
    assert policy.access.mode == "everyone" and policy.quota == Quota()


def test_the_rules() -> None:
    rooms = AssistantAccess("rooms", rooms=frozenset({"!club:x"}))
    assert may_use(AssistantAccess(), "@anyone:x", lambda room: False)
    assert may_use(rooms, "@ann:x", lambda room: room == "!club:x")
    assert not may_use(rooms, "@ann:x", lambda room: room == "!other:x")
    assert not may_use(AssistantAccess("people", frozenset({"@ann:x"})), "@bob:x", lambda room: True)
    quota = Quota(answers_per_day=3, tokens_per_day=1000)
    assert quota_reached(quota, Used(2, 999)) is None
    assert quota_reached(quota, Used(3, 0)) == "answers"
    assert quota_reached(quota, Used(0, 1000)) == "tokens"
    assert quota_left(Quota(), Used(9, 9)) is None
    assert quota_left(quota, Used(1, 250)).startswith("2 of 3 answers and 750 of 1,000 tokens left")  # type: ignore[union-attr]
    assert offered(["b", "a", "c"], frozenset({"a", "c"})) == ["a", "c"]


async def test_a_quota_of_one_answer_is_said_in_the_singular(engine: AsyncEngine) -> None:
    policy, usage = PolicyStore(engine, cache_s=0), UsageStore(engine)
    await policy.set_quota(Quota(answers_per_day=1))
    gate = AssistantGate(policy, usage, NoRooms(), day=lambda: DAY)
    async with async_sessionmaker(engine).begin() as session:
        await gate.count("@ann:x", "!dm:x", "llama3", Spent(1, 1, 1))(session)
    assert await gate.refusal("@ann:x") == strings.QUOTA_REACHED.format(limit="1 answer a day")
    assert offered(["b", "a"], None) == ["b", "a"]


class NoRooms:
    async def is_member(self, room_id: str, user_id: str) -> bool:
        return False


async def test_a_quota_reached_today_is_free_again_after_midnight_utc(engine: AsyncEngine) -> None:
    policy, usage = PolicyStore(engine, cache_s=0), UsageStore(engine)
    await policy.set_quota(Quota(answers_per_day=2))
    clock = [DAY]
    gate = AssistantGate(policy, usage, NoRooms(), day=lambda: clock[0])
    for _ in range(2):
        assert await gate.refusal("@ann:x") is None
        async with async_sessionmaker(engine).begin() as session:
            await gate.count("@ann:x", "!dm:x", "llama3", Spent(1, 1, 1))(session)
    assert await gate.refusal("@ann:x") == strings.QUOTA_REACHED.format(limit="2 answers a day")
    assert (await gate.quota_left("@ann:x") or "").startswith("0 of 2 answers")
    clock[0] = DAY + timedelta(days=1)  # midnight UTC has passed
    assert await gate.refusal("@ann:x") is None
    assert (await gate.quota_left("@ann:x") or "").startswith("2 of 2 answers")

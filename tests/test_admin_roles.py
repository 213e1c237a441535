"""The portal's admin roles and audit log on SQLite and PostgreSQL: one first admin
however many sign-ups (and portals) claim it at once, never when ADMIN_USERS names
someone, grants and revocations seen at once by the portal that made them, and the log
read newest first a page at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.admin.audit import AuditLog
from portal.admin.roles import AdminRoles
from tests.db import engine_for


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


async def test_many_first_claims_at_once_from_two_portals_make_one_admin(engine: AsyncEngine) -> None:
    portals = [AdminRoles(engine, frozenset()), AdminRoles(engine, frozenset())]
    people = [f"@first{n}:localhost" for n in range(12)]
    won = await asyncio.gather(*(portals[n % 2].claim_first(person) for n, person in enumerate(people)))
    assert sum(won) == 1
    [winner] = [person for person, first in zip(people, won, strict=True) if first]
    assert [grant.user_id for grant in await portals[0].granted()] == [winner]
    assert await portals[1].is_admin(winner)
    # Once there is an admin, nobody else becomes one by signing up, even when all grants are gone.
    await portals[0].revoke(winner)
    assert not await portals[0].claim_first("@later:localhost")


async def test_no_first_admin_when_the_settings_name_one(engine: AsyncEngine) -> None:
    roles = AdminRoles(engine, frozenset({"@owner:localhost"}))
    assert not await roles.claim_first("@early:localhost")
    assert await roles.is_admin("@Owner:localhost") and not await roles.is_admin("@early:localhost")


async def test_a_grant_and_a_revocation_take_effect_at_once(engine: AsyncEngine) -> None:
    roles = AdminRoles(engine, frozenset())
    assert not await roles.is_admin("@helper:localhost")  # now cached as "not an admin"
    await roles.grant("@helper:localhost", "@owner:localhost")
    assert await roles.is_admin("@helper:localhost")
    await roles.revoke("@helper:localhost")
    assert not await roles.is_admin("@helper:localhost")


async def test_the_audit_log_is_read_newest_first_a_page_at_a_time(engine: AsyncEngine) -> None:
    log = AuditLog(engine)
    for n in range(5):
        await log.record("@owner:localhost", "approve", f"@person{n}:localhost")
    first = await log.recent(limit=3)
    assert [entry.target for entry in first] == [f"@person{n}:localhost" for n in (4, 3, 2)]
    rest = await log.recent(before_id=first[-1].id, limit=3)
    assert [entry.target for entry in rest] == ["@person1:localhost", "@person0:localhost"]

"""The assistant's usage, counted per day (UTC) for each person, each room and each
model: answers, tokens in and out, and time in the model. Never any content. An answer
is counted in the same transaction that stores its turn and marks its question answered,
so a crash never counts it twice or loses it. Reports read one row per day and person
(room, model), whatever the number of answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from appdb.conversations import InTransaction
from appdb.models import UsageRollup
from common.assistant_policy import Used


@dataclass(frozen=True)
class Spent:
    """What one answer cost."""

    tokens_in: int = 0
    tokens_out: int = 0
    model_ms: int = 0

    def __add__(self, other: Spent) -> Spent:
        """Several model calls for one answer (the parts of a long summary) cost their sum."""
        tokens_in = self.tokens_in + other.tokens_in
        return Spent(tokens_in, self.tokens_out + other.tokens_out, self.model_ms + other.model_ms)


@dataclass(frozen=True)
class UsageRow:
    key: str  # a person, a room, a model, or a day (ISO)
    answers: int
    tokens_in: int
    tokens_out: int
    model_ms: int


@dataclass(frozen=True)
class UsageReport:
    since: date
    by_person: list[UsageRow]
    by_room: list[UsageRow]
    by_model: list[UsageRow]
    by_day: list[UsageRow]


def today() -> date:
    return datetime.now(UTC).date()


DIMENSIONS = ("person", "room", "model")


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def count(
        self, user_id: str, room_id: str, model: str, spent: Spent, day: date | None = None
    ) -> InTransaction:
        """Add one answer to the day's rows (its person's, its room's and its model's),
        inside the caller's transaction."""
        when = day or today()

        async def add(session: AsyncSession) -> None:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            table = UsageRollup.__table__.c
            for dimension, key in zip(DIMENSIONS, (user_id, room_id, model), strict=True):
                insert = dialect.insert(UsageRollup).values(
                    day=when,
                    dimension=dimension,
                    key=key,
                    questions=1,
                    tokens_in=spent.tokens_in,
                    tokens_out=spent.tokens_out,
                    model_ms=spent.model_ms,
                )
                await session.execute(
                    insert.on_conflict_do_update(
                        index_elements=["day", "dimension", "key"],
                        set_={
                            "questions": table.questions + 1,
                            "tokens_in": table.tokens_in + spent.tokens_in,
                            "tokens_out": table.tokens_out + spent.tokens_out,
                            "model_ms": table.model_ms + spent.model_ms,
                        },
                    )
                )

        return add

    async def used(self, user_id: str, day: date | None = None) -> Used:
        """What the person used on `day` (today), in every room and model together."""
        row = await self._one_row("person", user_id, day or today())
        return Used(row.questions, row.tokens_in + row.tokens_out) if row else Used()

    async def _one_row(self, dimension: str, key: str, day: date) -> UsageRollup | None:
        async with self._sessions() as session:
            return await session.get(UsageRollup, (day, dimension, key))

    async def report(self, days: int = 30, until: date | None = None) -> UsageReport:
        since = (until or today()) - timedelta(days=days - 1)
        async with self._sessions() as session:
            return UsageReport(
                since,
                await _grouped(session, "person", UsageRollup.key, since),
                await _grouped(session, "room", UsageRollup.key, since),
                await _grouped(session, "model", UsageRollup.key, since),
                # Every answer has one model: the model rows, by day, are the day's totals.
                await _grouped(session, "model", UsageRollup.day, since, by_key=True),
            )


async def _grouped(
    session: AsyncSession, dimension: str, column, since: date, by_key: bool = False
) -> list[UsageRow]:  # type: ignore[no-untyped-def]
    answers = func.sum(UsageRollup.questions)
    query = (
        select(
            column,
            answers,
            func.sum(UsageRollup.tokens_in),
            func.sum(UsageRollup.tokens_out),
            func.sum(UsageRollup.model_ms),
        )
        .where(UsageRollup.dimension == dimension, UsageRollup.day >= since)
        .group_by(column)
        .order_by(column if by_key else answers.desc())
    )
    rows = await session.execute(query)
    return [
        UsageRow(key.isoformat() if isinstance(key, date) else str(key), int(a), int(i), int(o), int(ms))
        for key, a, i, o, ms in rows
    ]

"""The assistant's usage, counted per person, room, model and day (UTC): answers, tokens
in and out, and time in the model. Never any content. An answer is counted in the same
transaction that stores its turn and marks its question answered, so a crash never
counts it twice or loses it. Reports read the daily rows, a few per person and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from appdb.conversations import InTransaction
from appdb.models import UsageDaily
from common.assistant_policy import Used


@dataclass(frozen=True)
class Spent:
    """What one answer cost."""

    tokens_in: int = 0
    tokens_out: int = 0
    model_ms: int = 0


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


class UsageStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def count(
        self, user_id: str, room_id: str, model: str, spent: Spent, day: date | None = None
    ) -> InTransaction:
        """Add one answer to the day's row, inside the caller's transaction."""
        values = {
            "day": day or today(),
            "user_id": user_id,
            "room_id": room_id,
            "model": model,
            "questions": 1,
            "tokens_in": spent.tokens_in,
            "tokens_out": spent.tokens_out,
            "model_ms": spent.model_ms,
        }

        async def add(session: AsyncSession) -> None:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(UsageDaily).values(**values)
            table = UsageDaily.__table__.c
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=["day", "user_id", "room_id", "model"],
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
        query = select(
            func.coalesce(func.sum(UsageDaily.questions), 0),
            func.coalesce(func.sum(UsageDaily.tokens_in + UsageDaily.tokens_out), 0),
        ).where(UsageDaily.user_id == user_id, UsageDaily.day == (day or today()))
        async with self._sessions() as session:
            answers, tokens = (await session.execute(query)).one()
        return Used(int(answers), int(tokens))

    async def report(self, days: int = 30, until: date | None = None) -> UsageReport:
        since = (until or today()) - timedelta(days=days - 1)
        async with self._sessions() as session:
            return UsageReport(
                since,
                await _grouped(session, UsageDaily.user_id, since),
                await _grouped(session, UsageDaily.room_id, since),
                await _grouped(session, UsageDaily.model, since),
                await _grouped(session, UsageDaily.day, since, by_key=True),
            )


async def _grouped(session: AsyncSession, column, since: date, by_key: bool = False) -> list[UsageRow]:  # type: ignore[no-untyped-def]
    answers = func.sum(UsageDaily.questions)
    query = (
        select(
            column,
            answers,
            func.sum(UsageDaily.tokens_in),
            func.sum(UsageDaily.tokens_out),
            func.sum(UsageDaily.model_ms),
        )
        .where(UsageDaily.day >= since)
        .group_by(column)
        .order_by(column if by_key else answers.desc())
    )
    rows = await session.execute(query)
    return [
        UsageRow(key.isoformat() if isinstance(key, date) else str(key), int(a), int(i), int(o), int(ms))
        for key, a, i, o, ms in rows
    ]

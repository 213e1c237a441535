"""The bot's answers as messages: which question each answered (so a 🔁 or ⏩ on it can
answer again or go on), and the 👍/👎 people gave them, counted per day and model for the
admins without the words. The one owner of `bot_answers` and `answer_feedback`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from appdb.conversations import InTransaction
from appdb.models import AnswerFeedback, BotAnswer

KEEP_DAYS = 30  # answers older than this can no longer be asked again or continued


@dataclass(frozen=True)
class Answered:
    answer_event_id: str
    room_id: str
    question_event_id: str
    asker: str
    thread_root: str | None
    question: str
    answer: str
    model: str
    stopped_at_length: bool


@dataclass(frozen=True)
class FeedbackCount:
    model: str
    up: int
    down: int


class AnswerStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @staticmethod
    def recording(answered: Answered, now_ms: int) -> InTransaction:
        """Records (or updates) an answer inside another store's transaction."""

        async def record(session: AsyncSession) -> None:
            row = await session.get(BotAnswer, answered.answer_event_id)
            if row is None:
                session.add(BotAnswer(**vars(answered), created_ms=now_ms))
            else:
                row.answer, row.stopped_at_length = answered.answer, answered.stopped_at_length

        return record

    async def within(self, work: InTransaction) -> None:
        """Run `work` in one transaction of the app database."""
        async with self._sessions.begin() as session:
            await work(session)

    async def save(self, answered: Answered, now_ms: int) -> None:
        async with self._sessions.begin() as session:
            await self.recording(answered, now_ms)(session)

    async def find(self, answer_event_id: str) -> Answered | None:
        async with self._sessions() as session:
            row = await session.get(BotAnswer, answer_event_id)
        if row is None:
            return None
        return Answered(
            row.answer_event_id,
            row.room_id,
            row.question_event_id,
            row.asker,
            row.thread_root,
            row.question,
            row.answer,
            row.model,
            row.stopped_at_length,
        )

    async def rate(self, answer: Answered, user_id: str, rating: int, today: date | None = None) -> None:
        """One person's 👍 (+1) or 👎 (-1) on an answer; a later one replaces theirs."""
        day = today or datetime.now(UTC).date()
        async with self._sessions.begin() as session:
            found = await session.get(AnswerFeedback, (answer.answer_event_id, user_id))
            if found is None:
                session.add(
                    AnswerFeedback(
                        answer_event_id=answer.answer_event_id,
                        user_id=user_id,
                        rating=rating,
                        model=answer.model,
                        day=day,
                    )
                )
            else:
                found.rating = rating

    async def feedback(self, since: date) -> list[FeedbackCount]:
        """👍 and 👎 per model since `since`, most rated first."""
        query = (
            select(
                AnswerFeedback.model,
                func.count().filter(AnswerFeedback.rating > 0),
                func.count().filter(AnswerFeedback.rating < 0),
            )
            .where(AnswerFeedback.day >= since)
            .group_by(AnswerFeedback.model)
            .order_by(func.count().desc())
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [FeedbackCount(model, int(ups), int(downs)) for model, ups, downs in rows]

    async def forget_before(self, cutoff_ms: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(BotAnswer).where(BotAnswer.created_ms < cutoff_ms))

    async def mark(self, answer_event_id: str, answer: str, stopped_at_length: bool) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(BotAnswer)
                .where(BotAnswer.answer_event_id == answer_event_id)
                .values(answer=answer, stopped_at_length=stopped_at_length)
            )

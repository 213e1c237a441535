"""Each person's conversations with the assistant, one per room: the one store the bot
reads and writes (its memory) and the portal reads and forgets (My AI conversations,
the chat's "Forget"). Reads are bounded: the newest window, never a whole history."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from appdb.conversation_roles import AI, HUMAN
from appdb.models import BotAnswer, ConversationMessage

InTransaction = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Summary:
    room_id: str
    messages: int
    last: datetime | None


@dataclass(frozen=True)
class Remembered:
    role: str
    content: str
    created_at: datetime | None


class ConversationStore:
    def __init__(self, engine: AsyncEngine, window_messages: int = 200) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._window = window_messages

    async def recent(self, user_id: str, room_id: str) -> list[tuple[str, str]]:
        """The newest `window_messages` messages of this conversation, oldest first."""
        return [(m.role, m.content) for m in await self.messages(user_id, room_id, self._window)]

    async def messages(self, user_id: str, room_id: str, limit: int) -> list[Remembered]:
        """The newest `limit` messages, oldest first, in one bounded query."""
        query = (
            select(ConversationMessage.role, ConversationMessage.content, ConversationMessage.created_at)
            .where(ConversationMessage.user_id == user_id, ConversationMessage.room_id == room_id)
            .order_by(ConversationMessage.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [Remembered(role, content, created) for role, content, created in reversed(rows)]

    async def pages(
        self, user_id: str, room_id: str, page_size: int = 500
    ) -> AsyncGenerator[list[Remembered], None]:
        """The whole conversation, oldest first, one page at a time (for an export): each
        page is one short query that starts after the last page's newest message, so no
        transaction stays open between pages and memory holds one page, whatever the length."""
        after = 0
        while True:
            query = (
                select(
                    ConversationMessage.id,
                    ConversationMessage.role,
                    ConversationMessage.content,
                    ConversationMessage.created_at,
                )
                .where(
                    ConversationMessage.user_id == user_id,
                    ConversationMessage.room_id == room_id,
                    ConversationMessage.id > after,
                )
                .order_by(ConversationMessage.id)
                .limit(page_size)
            )
            async with self._sessions() as session:
                rows = (await session.execute(query)).all()
            if rows:
                yield [Remembered(role, content, created) for _, role, content, created in rows]
            if len(rows) < page_size:
                return
            after = rows[-1][0]

    async def append_turn(
        self, user_id: str, room_id: str, question: str, answer: str, *, also: InTransaction | None = None
    ) -> None:
        """Store a complete turn: both messages in one transaction, or neither. `also`
        runs in the same transaction (the ledger marks the question answered with it)."""
        async with self._sessions.begin() as session:
            session.add_all(
                [
                    ConversationMessage(
                        user_id=user_id, room_id=room_id, role=HUMAN, content=_storable(question)
                    ),
                    ConversationMessage(user_id=user_id, room_id=room_id, role=AI, content=_storable(answer)),
                ]
            )
            if also is not None:
                await also(session)

    async def forget(self, user_id: str, room_id: str) -> int:
        """Forget this conversation, with the copies of its turns kept for reactions on the
        answers (`appdb.answers`); returns how many messages were forgotten."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ConversationMessage).where(
                    ConversationMessage.user_id == user_id, ConversationMessage.room_id == room_id
                )
            )
            await session.execute(
                delete(BotAnswer).where(BotAnswer.asker == user_id, BotAnswer.room_id == room_id)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def overview(self, user_id: str) -> list[Summary]:
        """One line per room where the person talked to the assistant, newest first."""
        last = func.max(ConversationMessage.created_at)
        query = (
            select(ConversationMessage.room_id, func.count(), last)
            .where(ConversationMessage.user_id == user_id)
            .group_by(ConversationMessage.room_id)
            .order_by(last.desc())
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [Summary(room_id, count, when) for room_id, count, when in rows]


def _storable(text: str) -> str:
    """PostgreSQL's text columns cannot hold NUL characters (a model may write one)."""
    return text.replace("\x00", "")

"""The bot's memory in the app database: each user's conversation per room."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import EVENT_DONE, BotEvent, ConversationMessage

HUMAN = "human"
AI = "ai"


class ConversationMemory:
    def __init__(self, engine: AsyncEngine, window_messages: int) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._window = window_messages

    async def recent(self, user_id: str, room_id: str) -> list[tuple[str, str]]:
        """The newest `window_messages` messages of this conversation, oldest first."""
        query = (
            select(ConversationMessage.role, ConversationMessage.content)
            .where(ConversationMessage.user_id == user_id, ConversationMessage.room_id == room_id)
            .order_by(ConversationMessage.id.desc())
            .limit(self._window)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [(role, content) for role, content in reversed(rows)]

    async def append_turn(
        self, user_id: str, room_id: str, question: str, answer: str, *, completes_event: str | None = None
    ) -> None:
        """Store a complete turn: both messages in one transaction, or neither. When
        `completes_event` is given, the same transaction marks that event answered."""
        async with self._sessions.begin() as session:
            session.add_all(
                [
                    ConversationMessage(
                        user_id=user_id, room_id=room_id, role=HUMAN, content=_storable(question)
                    ),
                    ConversationMessage(user_id=user_id, room_id=room_id, role=AI, content=_storable(answer)),
                ]
            )
            if completes_event is not None:
                await session.execute(
                    update(BotEvent).where(BotEvent.event_id == completes_event).values(status=EVENT_DONE)
                )

    async def reset(self, user_id: str, room_id: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(ConversationMessage).where(
                    ConversationMessage.user_id == user_id, ConversationMessage.room_id == room_id
                )
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _storable(text: str) -> str:
    """PostgreSQL's text columns cannot hold NUL characters (a model may write one)."""
    return text.replace("\x00", "")

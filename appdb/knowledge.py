"""A room's knowledge: the files posted in it (with how far their indexing got) and their
chunks with embeddings, and the search for the chunks nearest a question, in that room
only. The one owner of the knowledge tables; the vector maths is `appdb.vector_index`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import KNOWLEDGE_INDEXING, KNOWLEDGE_QUEUED, KNOWLEDGE_READY, KnowledgeChunk, KnowledgeFile
from appdb.vector_index import RoomVectors, VectorCache, to_bytes

INSERT_BATCH = 500


@dataclass(frozen=True)
class PostedFile:
    event_id: str
    room_id: str
    uploader: str
    name: str
    mimetype: str
    posted_ms: int


@dataclass(frozen=True)
class FileState:
    event_id: str
    name: str
    uploader: str
    state: str
    reason: str
    pages: int
    chunks: int


@dataclass(frozen=True)
class NewChunk:
    location: str  # "page 3", "section Setup"
    text: str
    embedding: list[float]


@dataclass(frozen=True)
class Found:
    """A chunk near the question: where it is from, and how near (cosine, 1 is the same)."""

    file_event_id: str
    file_name: str
    location: str
    text: str
    score: float


class KnowledgeStore:
    def __init__(self, engine: AsyncEngine, cache: VectorCache | None = None) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._cache = cache or VectorCache()

    async def add_file(self, posted: PostedFile) -> bool:
        """Record a posted file as queued; False if it was recorded before."""
        async with self._sessions.begin() as session:
            if await session.get(KnowledgeFile, posted.event_id) is not None:
                return False
            session.add(KnowledgeFile(**vars(posted), state=KNOWLEDGE_QUEUED, reason="", pages=0, chunks=0))
        return True

    async def set_state(self, event_id: str, state: str, reason: str = "", pages: int | None = None) -> None:
        values: dict[str, object] = {"state": state, "reason": reason}
        if pages is not None:
            values["pages"] = pages
        async with self._sessions.begin() as session:
            await session.execute(
                update(KnowledgeFile).where(KnowledgeFile.event_id == event_id).values(values)
            )

    async def add_chunks(self, event_id: str, room_id: str, chunks: Sequence[NewChunk], pages: int) -> None:
        """Store a file's chunks and mark it ready, in one transaction (a file is searched
        whole or not at all)."""
        rows = [
            {
                "file_event_id": event_id,
                "room_id": room_id,
                "seq": seq,
                "location": chunk.location,
                "text": chunk.text,
                "embedding": to_bytes(chunk.embedding),
            }
            for seq, chunk in enumerate(chunks)
        ]
        async with self._sessions.begin() as session:
            await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.file_event_id == event_id))
            for start in range(0, len(rows), INSERT_BATCH):
                await session.execute(insert(KnowledgeChunk), rows[start : start + INSERT_BATCH])
            await session.execute(
                update(KnowledgeFile)
                .where(KnowledgeFile.event_id == event_id)
                .values(state=KNOWLEDGE_READY, reason="", pages=pages, chunks=len(rows))
            )

    async def files(self, room_id: str) -> list[FileState]:
        """The room's files, oldest first."""
        query = (
            select(KnowledgeFile).where(KnowledgeFile.room_id == room_id).order_by(KnowledgeFile.posted_ms)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).scalars().all()
        return [
            FileState(f.event_id, f.name, f.uploader, f.state, f.reason, f.pages, f.chunks) for f in found
        ]

    async def still_indexing(self, room_id: str) -> list[str]:
        """The names of the room's files not searchable yet (queued or being indexed)."""
        return [
            f.name for f in await self.files(room_id) if f.state in (KNOWLEDGE_QUEUED, KNOWLEDGE_INDEXING)
        ]

    async def remove(self, event_id: str) -> bool:
        """Forget a file and its chunks (its message was redacted, or it was deleted)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.file_event_id == event_id))
            removed = await session.execute(delete(KnowledgeFile).where(KnowledgeFile.event_id == event_id))
        return bool(getattr(removed, "rowcount", 0))

    async def search(self, room_id: str, question: list[float], k: int = 4) -> list[Found]:
        """The `k` chunks of `room_id` nearest `question`, nearest first. Never another room's."""
        async with self._sessions() as session:
            count, newest = (
                await session.execute(
                    select(func.count(KnowledgeChunk.id), func.max(KnowledgeChunk.id)).where(
                        KnowledgeChunk.room_id == room_id
                    )
                )
            ).one()
            version = (int(count or 0), int(newest or 0))
            vectors = self._cache.get(room_id, version)
            if vectors is None:
                rows = await session.execute(
                    select(KnowledgeChunk.id, KnowledgeChunk.embedding).where(
                        KnowledgeChunk.room_id == room_id
                    )
                )
                pairs = [(int(chunk_id), bytes(blob)) for chunk_id, blob in rows]
                vectors = await asyncio.to_thread(RoomVectors.build, version, pairs, len(question))
                self._cache.put(room_id, vectors)
            nearest = await asyncio.to_thread(vectors.nearest, question, k)
            if not nearest:
                return []
            found = await session.execute(
                select(KnowledgeChunk, KnowledgeFile.name)
                .join(KnowledgeFile, KnowledgeFile.event_id == KnowledgeChunk.file_event_id)
                .where(KnowledgeChunk.id.in_([chunk_id for chunk_id, _ in nearest]))
                .where(KnowledgeChunk.room_id == room_id)
            )
            by_id = {chunk.id: (chunk, name) for chunk, name in found}
        return [
            Found(by_id[i][0].file_event_id, by_id[i][1], by_id[i][0].location, by_id[i][0].text, score)
            for i, score in nearest
            if i in by_id
        ]

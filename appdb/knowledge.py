"""A room's knowledge: the files posted in it (with how far their indexing got) and their
chunks with embeddings, and the search for the chunks nearest a question, in that room
only. The one owner of the knowledge tables; the vector maths is `appdb.vector_index`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import (
    KNOWLEDGE_INDEXING,
    KNOWLEDGE_QUEUED,
    KNOWLEDGE_READY,
    KnowledgeChunk,
    KnowledgeFile,
    KnowledgeSource,
)
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
    progress: int = 0  # percent, while indexing
    room_id: str = ""

    @property
    def searchable(self) -> bool:
        return self.state == KNOWLEDGE_READY

    @property
    def pending(self) -> bool:
        """Queued or being read: not (wholly) searchable yet."""
        return self.state in (KNOWLEDGE_QUEUED, KNOWLEDGE_INDEXING)


@dataclass(frozen=True)
class Source:
    """The room whose knowledge a person's direct chat with the bot answers from."""

    room_id: str
    name: str


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

    async def start_reading(self, event_id: str, pages: int) -> bool:
        """A file's text is read: drop chunks an interrupted earlier try left, and mark it
        indexing at 0%. False when the file is gone (its message was removed)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.file_event_id == event_id))
            started = await session.execute(
                update(KnowledgeFile)
                .where(KnowledgeFile.event_id == event_id)
                .values(state=KNOWLEDGE_INDEXING, reason="", pages=pages, chunks=0, progress=0)
            )
        return bool(getattr(started, "rowcount", 0))

    async def append_chunks(
        self, event_id: str, room_id: str, chunks: Sequence[NewChunk], first_seq: int, progress: int
    ) -> bool:
        """Store the next chunks of a file being indexed (searchable at once) and its
        progress; False when the file is gone, and then nothing is stored."""
        rows = [
            {
                "file_event_id": event_id,
                "room_id": room_id,
                "seq": seq,
                "location": chunk.location,
                "text": chunk.text,
                "embedding": to_bytes(chunk.embedding),
            }
            for seq, chunk in enumerate(chunks, first_seq)
        ]
        async with self._sessions.begin() as session:
            moved = await session.execute(
                update(KnowledgeFile)
                .where(KnowledgeFile.event_id == event_id)
                .values(chunks=first_seq + len(rows), progress=progress)
            )
            if not getattr(moved, "rowcount", 0):
                return False
            for start in range(0, len(rows), INSERT_BATCH):
                await session.execute(insert(KnowledgeChunk), rows[start : start + INSERT_BATCH])
        return True

    async def finish(self, event_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(KnowledgeFile)
                .where(KnowledgeFile.event_id == event_id)
                .values(state=KNOWLEDGE_READY, reason="", progress=100)
            )

    async def add_chunks(self, event_id: str, room_id: str, chunks: Sequence[NewChunk], pages: int) -> None:
        """Store a whole file's chunks at once and mark it ready."""
        await self.start_reading(event_id, pages)
        await self.append_chunks(event_id, room_id, chunks, 0, 100)
        await self.finish(event_id)

    async def files(self, room_id: str) -> list[FileState]:
        """The room's files, oldest first."""
        query = (
            select(KnowledgeFile).where(KnowledgeFile.room_id == room_id).order_by(KnowledgeFile.posted_ms)
        )
        async with self._sessions() as session:
            found = (await session.execute(query)).scalars().all()
        return [
            FileState(
                f.event_id, f.name, f.uploader, f.state, f.reason, f.pages, f.chunks, f.progress, f.room_id
            )
            for f in found
        ]

    async def file(self, event_id: str) -> FileState | None:
        async with self._sessions() as session:
            f = await session.get(KnowledgeFile, event_id)
        if f is None:
            return None
        return FileState(
            f.event_id, f.name, f.uploader, f.state, f.reason, f.pages, f.chunks, f.progress, f.room_id
        )

    async def still_indexing(self, room_id: str) -> list[str]:
        """The names of the room's files not searchable yet (queued or being indexed)."""
        return [
            f.name for f in await self.files(room_id) if f.state in (KNOWLEDGE_QUEUED, KNOWLEDGE_INDEXING)
        ]

    async def remove(self, event_id: str, room_id: str | None = None) -> bool:
        """Forget a file and its chunks (its message was redacted, or it was deleted);
        with `room_id`, only if the file is that room's."""
        async with self._sessions.begin() as session:
            if room_id is not None:
                found = await session.get(KnowledgeFile, event_id)
                if found is None or found.room_id != room_id:
                    return False
            await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.file_event_id == event_id))
            removed = await session.execute(delete(KnowledgeFile).where(KnowledgeFile.event_id == event_id))
        return bool(getattr(removed, "rowcount", 0))

    async def source(self, user_id: str, room_id: str) -> Source | None:
        """The room whose knowledge `user_id`'s direct chat `room_id` uses, if they chose one."""
        async with self._sessions() as session:
            found = await session.get(KnowledgeSource, (user_id, room_id))
        return Source(found.source_room_id, found.source_name) if found else None

    async def use_source(self, user_id: str, room_id: str, source: Source | None) -> None:
        """Answer `user_id` in `room_id` from `source`'s knowledge (None: from no room's)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(KnowledgeSource).where(
                    KnowledgeSource.user_id == user_id, KnowledgeSource.room_id == room_id
                )
            )
            if source is not None:
                session.add(
                    KnowledgeSource(
                        user_id=user_id,
                        room_id=room_id,
                        source_room_id=source.room_id,
                        source_name=source.name,
                    )
                )

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

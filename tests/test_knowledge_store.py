"""The room-knowledge store's contract, on SQLite and on PostgreSQL: a file's life (queued,
indexing, ready with its chunks, removed), and the search, which finds the nearest
chunks of the asking room and never another room's, also after chunks come and go.
The vectors are the Ollama double's embeddings (texts sharing words are close)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from appdb.knowledge import KnowledgeStore, NewChunk, PostedFile
from appdb.models import KNOWLEDGE_INDEXING, KNOWLEDGE_QUEUED, KNOWLEDGE_READY
from appdb.vector_index import RoomVectors, to_bytes
from tests.db import engine_for
from tests.ollama_double import embed_text

CLUB, OTHER = "!club:localhost", "!other:localhost"


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in engine_for(request.param, tmp_path):
        yield engine


def _file(event_id: str, room_id: str = CLUB, name: str = "rules.md") -> PostedFile:
    return PostedFile(event_id, room_id, "@anna:localhost", name, "text/markdown", posted_ms=1_000)


def _chunks(*texts: str) -> list[NewChunk]:
    return [NewChunk(f"section {i + 1}", text, embed_text(text)) for i, text in enumerate(texts)]


async def test_a_file_goes_from_queued_to_ready_with_its_chunks(engine: AsyncEngine) -> None:
    store = KnowledgeStore(engine)
    assert await store.add_file(_file("$rules"))
    assert not await store.add_file(_file("$rules")), "the same message is one file"
    assert [(f.name, f.state) for f in await store.files(CLUB)] == [("rules.md", KNOWLEDGE_QUEUED)]
    await store.set_state("$rules", KNOWLEDGE_INDEXING)
    assert await store.still_indexing(CLUB) == ["rules.md"]

    await store.add_chunks(
        "$rules", CLUB, _chunks("members pay dues in march", "the club meets on fridays"), 2
    )

    [ready] = await store.files(CLUB)
    assert (ready.state, ready.chunks, ready.pages) == (KNOWLEDGE_READY, 2, 2)
    assert await store.still_indexing(CLUB) == []


async def test_the_search_finds_the_nearest_chunks_of_the_asking_room_only(engine: AsyncEngine) -> None:
    store = KnowledgeStore(engine)
    await store.add_file(_file("$rules"))
    await store.add_chunks(
        "$rules", CLUB, _chunks("members pay dues in march", "the club meets on fridays"), 1
    )
    await store.add_file(_file("$secret", OTHER, "secret.txt"))
    await store.add_chunks("$secret", OTHER, _chunks("when does the club meet on fridays exactly"), 1)

    found = await store.search(CLUB, embed_text("when does the club meet"), k=5)

    nearest = found[0]
    assert (nearest.file_name, nearest.location) == ("rules.md", "section 2")
    assert nearest.text == "the club meets on fridays"
    assert all(f.file_event_id == "$rules" for f in found), "another room's chunk was found"
    assert found == sorted(found, key=lambda f: -f.score)


async def test_chunks_added_or_removed_are_seen_by_the_next_search(engine: AsyncEngine) -> None:
    store = KnowledgeStore(engine)
    await store.add_file(_file("$rules"))
    await store.add_chunks("$rules", CLUB, _chunks("members pay dues in march"), 1)
    assert [f.text for f in await store.search(CLUB, embed_text("dues"), k=1)] == [
        "members pay dues in march"
    ]

    await store.add_file(_file("$menu", name="menu.txt"))
    await store.add_chunks("$menu", CLUB, _chunks("pizza on fridays"), 1)
    assert [f.text for f in await store.search(CLUB, embed_text("pizza"), k=1)] == ["pizza on fridays"]

    assert await store.remove("$menu")  # its message was redacted
    assert [f.file_name for f in await store.search(CLUB, embed_text("pizza"), k=5)] == ["rules.md"]
    assert [f.name for f in await store.files(CLUB)] == ["rules.md"]
    assert not await store.remove("$menu")


async def test_a_room_without_knowledge_finds_nothing(engine: AsyncEngine) -> None:
    assert await KnowledgeStore(engine).search(CLUB, embed_text("anything"), k=3) == []


def test_vectors_of_another_size_are_left_out_not_compared() -> None:
    rows = [(1, to_bytes([1.0, 0.0, 0.0])), (2, to_bytes([1.0, 0.0])), (3, to_bytes([0.0, 1.0, 0.0]))]
    vectors = RoomVectors.build((3, 3), rows, dimensions=3)
    assert [chunk_id for chunk_id, _ in vectors.nearest([1.0, 0.1, 0.0], k=5)] == [1, 3]
    assert vectors.nearest([1.0, 0.0], k=5) == []  # a question from another embedding model


# Embeddings are ordinary floats (float32 holds no values as tiny as 1e-300).
components = st.floats(-1, 1, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-6)
vectors = st.lists(components, min_size=4, max_size=4)


@given(st.lists(vectors, min_size=1, max_size=40), vectors, st.integers(1, 10))
def test_nearest_is_the_top_k_by_cosine(rows: list[list[float]], question: list[float], k: int) -> None:
    vectors_ = RoomVectors.build((len(rows), len(rows)), [(i, to_bytes(r)) for i, r in enumerate(rows)], 4)
    found = vectors_.nearest(question, k)

    def cosine(a: list[float], b: list[float]) -> float:
        na, nb = math.hypot(*a), math.hypot(*b)
        return sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb) if na and nb else 0.0

    expected = sorted((cosine(r, question) for r in rows), reverse=True)[:k]
    assert len(found) == min(k, len(rows))
    assert [score for _, score in found] == pytest.approx(expected, abs=1e-4)

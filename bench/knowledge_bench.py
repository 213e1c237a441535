"""The room-knowledge retrieval benchmark (issue 16): `python -m bench knowledge`. One
room holds 10,000 chunks (768-dimensional embeddings, as nomic-embed-text makes) among
9 other rooms of 1,000 each; one question's search for the 4 nearest chunks of that
room, through `KnowledgeStore.search` on the app database as `make run` has it (SQLite),
against the cheapest query the search makes anyway (the room's chunk count) as the
baseline, interleaved. Also the first search after a change (the room's matrix rebuilt
from the database)."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.engine import create_schema, default_database_url, make_engine
from appdb.knowledge import KnowledgeStore, NewChunk, PostedFile
from appdb.models import KnowledgeChunk
from bench.measure import Distribution
from bench.report import machine, write_section

DIMENSIONS = 768
CHUNKS = 10_000
OTHER_ROOMS, OTHER_CHUNKS = 9, 1_000
ROUNDS = 200
TARGET_P50_MS, TARGET_P90_MS = 20.0, 50.0
ROOM = "!big:localhost"


def _vector(chance: random.Random) -> list[float]:
    return [chance.gauss(0, 1) for _ in range(DIMENSIONS)]


async def _fill(store: KnowledgeStore, chance: random.Random) -> float:
    started = time.perf_counter()
    rooms = [(ROOM, CHUNKS)] + [(f"!room{i}:localhost", OTHER_CHUNKS) for i in range(OTHER_ROOMS)]
    for room, count in rooms:
        for part in range(count // 1000):
            event_id = f"${room}-{part}"
            await store.add_file(
                PostedFile(event_id, room, "@anna:localhost", f"file{part}.pdf", "application/pdf", 1)
            )
            chunks = [NewChunk(f"page {i + 1}", f"text {i}", _vector(chance)) for i in range(1000)]
            await store.add_chunks(event_id, room, chunks, pages=1000)
    return time.perf_counter() - started


async def _count(engine: AsyncEngine) -> None:
    async with async_sessionmaker(engine)() as session:
        query = select(func.count(KnowledgeChunk.id)).where(KnowledgeChunk.room_id == ROOM)
        await session.execute(query)


async def _measure(folder: Path) -> dict[str, object]:
    engine = make_engine(default_database_url(folder))
    await create_schema(engine)
    store = KnowledgeStore(engine)
    chance = random.Random(16)
    fill_s = await _fill(store, chance)
    question = _vector(chance)
    cold_started = time.perf_counter()
    found = await store.search(ROOM, question, k=4)
    cold_ms = (time.perf_counter() - cold_started) * 1000
    assert len(found) == 4
    searches, baseline = [], []
    for _ in range(ROUNDS):
        question = _vector(chance)
        started = time.perf_counter()
        await _count(engine)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        await store.search(ROOM, question, k=4)
        searches.append(time.perf_counter() - started)
    await engine.dispose()
    return {
        "fill_s": fill_s,
        "cold_ms": cold_ms,
        "search": Distribution(searches),
        "count": Distribution(baseline),
    }


def render(figures: dict[str, object]) -> str:
    search, count = figures["search"], figures["count"]
    assert isinstance(search, Distribution) and isinstance(count, Distribution)
    met = search.median_ms <= TARGET_P50_MS and search.p90_ms <= TARGET_P90_MS
    return "\n".join(
        [
            "## Room knowledge: retrieval (issue 16)",
            "",
            f"Machine: {machine()}. `python -m bench knowledge`: one room with {CHUNKS:,} chunks and "
            f"{OTHER_ROOMS} rooms with {OTHER_CHUNKS:,} each, {DIMENSIONS}-dimensional embeddings stored as "
            f"float32 bytes in the app database on SQLite (filled in {figures['fill_s']:.0f} s); "
            f"{ROUNDS} searches for the 4 nearest chunks of the big room, interleaved with the baseline.",
            "",
            "| measure | p50 | p90 |",
            "|---|---|---|",
            f"| baseline: the room's chunk count (one indexed query) | {count.median_ms:.2f} ms | "
            f"{count.p90_ms:.2f} ms |",
            f"| `KnowledgeStore.search`, the room's matrix held | {search.median_ms:.2f} ms | "
            f"{search.p90_ms:.2f} ms |",
            "",
            f"- Target p50 ≤ {TARGET_P50_MS:.0f} ms and p90 ≤ {TARGET_P90_MS:.0f} ms: "
            f"{'met' if met else '**missed**'}; {search.median_ms / count.median_ms:.1f}× the baseline.",
            f"- The first search after the room's chunks change reads its {CHUNKS:,} embeddings back and "
            f"builds the matrix: {figures['cold_ms']:.0f} ms.",
        ]
    )


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as folder:
        figures = asyncio.run(_measure(Path(folder)))
    body = render(figures)
    write_section("knowledge", body)
    return body

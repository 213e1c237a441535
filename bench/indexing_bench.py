"""The room-knowledge indexing benchmark (issue 16): `python -m bench indexing`. A
300-page PDF (about 250 words a page) is posted in a room through Synapse; measured from
the post: when its first chunk is searchable (the app database has a chunk of it) and
when the bot says it has read it, giving pages per second. The baseline, in the same
run: a 1-page PDF through the same path (download, the worker, embeddings, storage, the
notice). Meanwhile, an ordinary `@bot` question asked while the big file is being read,
against the same question with nothing being read: reading a file must not hold up
answers. The model is the Ollama double in a process of its own, answering at once."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass

from nio import RoomCreateResponse, RoomPreset, UploadResponse

from appdb.engine import default_database_url, make_engine
from appdb.knowledge import KnowledgeStore
from bench.measure import Distribution
from bench.report import machine, write_section
from bench.stack import BenchStack, bench_stack, model_process
from tests.matrix_user import MatrixUser, wait_for_answer, wait_until_member
from tests.pdf_files import make_pdf

PAGES = 300
ROUNDS = 3
WORDS_PER_PAGE = 250
REPLY = "An answer from the model."


def _page(n: int) -> str:
    words = [f"word{(n * 31 + i) % 5000}" for i in range(WORDS_PER_PAGE)]
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return f"Page {n} of the handbook.\n" + "\n".join(lines)


@dataclass(frozen=True)
class Figures:
    first_chunk: Distribution
    whole: Distribution
    one_page: Distribution
    chunks: int
    question_idle: Distribution
    question_busy: Distribution


async def _post(user: MatrixUser, room_id: str, name: str, data: bytes) -> str:
    uploaded, _ = await user.client.upload(
        lambda *_: io.BytesIO(data), content_type="application/pdf", filename=name, filesize=len(data)
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    content = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "url": uploaded.content_uri,
        "info": {"mimetype": "application/pdf", "size": len(data)},
    }
    response = await user.client.room_send(room_id, "m.room.message", content)
    return str(response.event_id)  # type: ignore[union-attr]


async def _first_chunk(store: KnowledgeStore, event_id: str, started: float) -> float:
    while True:
        state = await store.file(event_id)
        if state is not None and state.chunks > 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.005)


async def _read(user: MatrixUser, store: KnowledgeStore, room: str, bot_id: str, data: bytes, name: str):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    event_id = await _post(user, room, name, data)
    first = asyncio.create_task(_first_chunk(store, event_id, started))
    await wait_for_answer(user, room, event_id, bot_id, lambda v: "I've read" in v.body, timeout=600)
    whole = time.perf_counter() - started
    state = await store.file(event_id)
    assert state is not None
    return await first, whole, state.chunks, event_id


async def _question(user: MatrixUser, room: str, bot_id: str, text: str) -> float:
    started = time.perf_counter()
    event_id = await user.send(room, text)
    await wait_for_answer(user, room, event_id, bot_id, lambda v: REPLY in v.body, timeout=120)
    return time.perf_counter() - started


async def _measure(stack: BenchStack) -> Figures:
    synapse = stack.synapse
    bot_id = synapse.provisioned.bot_user_id
    alice = await MatrixUser.register(synapse, "alice")
    bob = await MatrixUser.register(synapse, "bob")
    created = await alice.client.room_create(preset=RoomPreset.private_chat, invite=[bot_id, bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room = created.room_id
    await wait_until_member(alice, room, bot_id)
    await bob.join(room)
    engine = make_engine(default_database_url(stack.data_dir))
    store = KnowledgeStore(engine)
    big = make_pdf([_page(n) for n in range(1, PAGES + 1)])
    small = make_pdf([_page(1)])
    firsts, wholes, ones, idle, busy = [], [], [], [], []
    chunks = 0
    await _read(alice, store, room, bot_id, small, "warm-up.pdf")
    for n in range(ROUNDS):
        _, one, _, _ = await _read(alice, store, room, bot_id, small, f"one-{n}.pdf")
        ones.append(one)
        idle.append(await _question(bob, room, bot_id, f"@bot an idle question {n}"))
        reading = asyncio.create_task(_read(alice, store, room, bot_id, big, f"handbook-{n}.pdf"))
        await asyncio.sleep(0.5)  # the big file is being read by now
        busy.append(await _question(bob, room, bot_id, f"@bot a question while reading {n}"))
        first, whole, chunks, _ = await reading
        firsts.append(first)
        wholes.append(whole)
    await engine.dispose()
    await alice.close()
    await bob.close()
    return Figures(
        Distribution(firsts),
        Distribution(wholes),
        Distribution(ones),
        chunks,
        Distribution(idle),
        Distribution(busy),
    )


def render(f: Figures) -> str:
    pages_per_s = PAGES / (f.whole.median_ms / 1000)
    return "\n".join(
        [
            "## Room knowledge: indexing (issue 16)",
            "",
            f"Machine: {machine()}. `python -m bench indexing`: a {PAGES}-page PDF (about {WORDS_PER_PAGE} "
            f"words a page, {f.chunks} chunks) posted in a room, {ROUNDS} rounds; the model and the "
            "embeddings are the Ollama double in a process of its own, answering at once, so the "
            "figures are the bot's own cost (download, text extraction in the worker process, "
            "chunking, storage, the notice).",
            "",
            "| measure | p50 | p90 |",
            "|---|---|---|",
            f"| baseline: a 1-page PDF, post → the bot's \"I've read\" | {f.one_page.median_ms:.0f} ms | "
            f"{f.one_page.p90_ms:.0f} ms |",
            f"| {PAGES}-page PDF, post → first chunk searchable | {f.first_chunk.median_ms:.0f} ms | "
            f"{f.first_chunk.p90_ms:.0f} ms |",
            f"| {PAGES}-page PDF, post → the bot's \"I've read\" | {f.whole.median_ms:.0f} ms | "
            f"{f.whole.p90_ms:.0f} ms |",
            f"| baseline: `@bot` question → answer, nothing being read | {f.question_idle.median_ms:.0f} ms | "
            f"{f.question_idle.p90_ms:.0f} ms |",
            f"| `@bot` question → answer, while the {PAGES}-page PDF is read | "
            f"{f.question_busy.median_ms:.0f} ms | {f.question_busy.p90_ms:.0f} ms |",
            "",
            f"- {pages_per_s:.0f} pages per second, {f.whole.median_ms / f.one_page.median_ms:.1f}× the "
            f"1-page file; the first chunk is searchable after {f.first_chunk.median_ms / f.whole.median_ms:.0%} "
            "of the whole time (the text is extracted first, then chunks are embedded and stored "
            "32 at a time, each batch searchable at once).",
            f"- A question while a file is read: {f.question_busy.median_ms / f.question_idle.median_ms:.1f}× "
            "the idle one (extraction runs in a worker process at low priority; embeddings take "
            "turns in the fair queue).",
        ]
    )


def run() -> str:
    with model_process(REPLY, 0.0, 0.0) as model, bench_stack(model) as stack:
        figures = asyncio.run(_measure(stack))
    body = render(figures)
    write_section("indexing", body)
    return body

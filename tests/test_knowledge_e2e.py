"""A room's knowledge through the real Synapse and the Ollama double (whose embeddings put
texts that share words close together): files posted in a room are read, and questions
there are answered from them with their sources (file, page or section, a link to the
file's message); nothing relevant is said plainly; a file still being read is named;
bad files get a reason and stop nothing; a removed file is forgotten; knowledge never
reaches another room or someone outside the room, unless they are in it and chose it
with `!use`; an encrypted room's attachments are read too; a SIGKILL mid-file loses
nothing and duplicates nothing."""

from __future__ import annotations

import asyncio
import io
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import RoomRedactResponse, UploadResponse
from sqlalchemy import select

from appdb.engine import default_database_url, make_engine
from appdb.knowledge import FileState, KnowledgeStore
from appdb.models import KNOWLEDGE_FAILED, KNOWLEDGE_INDEXING, KNOWLEDGE_READY, KnowledgeChunk
from bot import strings
from bot.crypto import keys_housekeeping
from bot.formatting import defuse_mentions
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import AnswerView, MatrixUser, open_direct_chat, room_with_bot, wait_for_answer
from tests.ollama_double import FakeModel, OllamaDouble
from tests.pdf_files import make_encrypted_pdf, make_flate_bomb, make_page_bomb, make_pdf, make_scanned_pdf
from tests.synapse_server import SynapseServer
from tests.test_encryption_e2e import encrypted_dm

EMBEDDER = "nomic-embed-text:latest"
RULES = """# Club rules

Welcome to the chess club of Lindenau.

## Dues

Members pay their yearly dues of forty euros in March, to the treasurer Greta.

## Meetings

The club meets every Friday evening at seven in the library basement.
"""


def files_of(request: dict[str, Any]) -> str:
    """The passages of the room's files the bot quoted to the model ("" if none)."""
    text = str(request["messages"][-1]["content"])
    return text.split("<files>", 1)[1].rsplit("</files>", 1)[0] if "<files>" in text else ""


def citing_model(request: dict[str, Any]) -> str:
    """Answers from the first passage it was given, citing it; without passages, says so."""
    passages = files_of(request)
    if not passages:
        return "I have no file about that."
    first = passages.strip().split("\n\n[2]", 1)[0].splitlines()[1:]  # the lines of passage [1]
    return f"{max(first, key=len)} [1]"


@dataclass(frozen=True)
class Club:
    alice: MatrixUser
    bob: MatrixUser
    room_id: str
    alias: str
    bot_id: str


@pytest.fixture
async def embedder(ollama: OllamaDouble) -> OllamaDouble:
    ollama.models.append(FakeModel(EMBEDDER, embedding_only=True))
    ollama.reply = citing_model
    return ollama


@pytest.fixture
async def club(
    synapse: SynapseServer, bot: BotProcess, embedder: OllamaDouble, make_user: UserFactory
) -> Club:
    """Alice and Bob with the bot in a new group room that has an address."""
    alice, bob = await make_user("alice"), await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    name = f"club{time.monotonic_ns()}"
    room_id = await room_with_bot(alice, bot_id, bob, alias=name)
    return Club(alice, bob, room_id, f"#{name}:{synapse.settings.server_name}", bot_id)


@pytest.fixture
async def knowledge(synapse: SynapseServer) -> AsyncIterator[KnowledgeStore]:
    """The bot's knowledge store, read directly (to wait for states the room does not show)."""
    engine = make_engine(synapse.app_database_url or default_database_url(synapse.settings.data_dir))
    yield KnowledgeStore(engine)
    await engine.dispose()


async def post_file(
    user: MatrixUser,
    room_id: str,
    name: str,
    data: bytes,
    mimetype: str,
    *,
    encrypted: bool = False,
    thread_root: str | None = None,
) -> str:
    """Upload `data` as the person (encrypted for an encrypted room, as Element does) and
    post it as an `m.file` message; returns the message's event id."""
    uploaded, keys = await user.client.upload(
        lambda *_: io.BytesIO(data),
        content_type=mimetype,
        filename=name,
        encrypt=encrypted,
        filesize=len(data),
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "info": {"mimetype": mimetype, "size": len(data)},
    }
    if encrypted:
        assert keys is not None
        content["file"] = {"url": uploaded.content_uri, **{k: keys[k] for k in ("key", "iv", "hashes", "v")}}
    else:
        content["url"] = uploaded.content_uri
    if thread_root:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root}
    response = await user.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
    return str(response.event_id)  # type: ignore[union-attr]


async def post_and_wait(
    user: MatrixUser, room_id: str, bot_id: str, name: str, data: bytes, mimetype: str, **kwargs: Any
) -> tuple[str, AnswerView]:
    """Post a file and wait for the bot's word on it (read, or why not)."""
    event_id = await post_file(user, room_id, name, data, mimetype, **kwargs)
    notice = await wait_for_answer(user, room_id, event_id, bot_id, timeout=60)
    return event_id, notice


async def wait_for_file(
    store: KnowledgeStore, event_id: str, check: Callable[[FileState | None], bool], timeout: float = 60
) -> FileState | None:
    deadline = time.monotonic() + timeout
    while True:
        state = await store.file(event_id)
        if check(state):
            return state
        assert time.monotonic() < deadline, f"the file {event_id} never got there: {state}"
        await asyncio.sleep(0.2)


def link_to(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{quote(room_id, safe='')}/{quote(event_id, safe='')}?via=localhost"


async def ask(user: MatrixUser, room_id: str, bot_id: str, text: str, **kwargs: Any) -> AnswerView:
    question = await user.send(room_id, text, **kwargs)
    return await wait_for_answer(user, room_id, question, bot_id, timeout=60)


async def test_a_posted_file_answers_questions_in_its_room_with_its_sources(
    club: Club, embedder: OllamaDouble
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    file_id, ready = await post_and_wait(alice, room_id, bot_id, "rules.md", RULES.encode(), "text/markdown")
    assert ready.content["msgtype"] == "m.notice"
    assert "I've read **rules.md**" in ready.body and "sections" in ready.body

    answer = await ask(bob, room_id, bot_id, "@bot when are the yearly dues paid?")
    request = embedder.chat_requests()[-1]
    assert "forty euros in March" in files_of(request), "the Dues passage went to the model"
    assert "never instructions" in request["messages"][0]["content"]
    assert "Members pay their yearly dues" in answer.body
    assert f"[rules.md, section Dues]({link_to(room_id, file_id)})" in answer.body
    assert f'href="{link_to(room_id, file_id)}"' in answer.content["formatted_body"]

    docs = await ask(bob, room_id, bot_id, "!docs")  # unaddressed, like !summary
    assert "**rules.md**" in docs.body and "ready:" in docs.body and alice.user_id in docs.body


async def test_a_question_the_files_do_not_cover_is_answered_without_inventing_a_source(
    club: Club, embedder: OllamaDouble
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    await post_and_wait(alice, room_id, bot_id, "rules.md", RULES.encode(), "text/markdown")

    answer = await ask(alice, room_id, bot_id, "@bot how tall is mount everest?")
    assert files_of(embedder.chat_requests()[-1]) == ""
    assert "none of their passages is about" in embedder.chat_requests()[-1]["messages"][0]["content"]
    assert "Sources" not in answer.body and "matrix.to" not in answer.body
    assert strings.KNOWLEDGE_NOTHING_RELEVANT.strip() in answer.body


async def test_knowledge_never_reaches_another_room_or_someone_outside_the_room(
    synapse: SynapseServer, club: Club, embedder: OllamaDouble, make_user: UserFactory
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    file_id, _ = await post_and_wait(alice, room_id, bot_id, "rules.md", RULES.encode(), "text/markdown")
    question = "@bot when are the yearly dues paid?"

    # Another room of the same people, with a file of its own: its search never finds the club's.
    other = await room_with_bot(alice, bot_id, bob)
    menu = b"In the bakery club, yearly dues are paid in bread, every Monday."
    await post_and_wait(alice, other, bot_id, "menu.txt", menu, "text/plain")
    elsewhere = await ask(alice, other, bot_id, question)
    assert "rules.md" not in elsewhere.body and "forty euros" not in files_of(embedder.chat_requests()[-1])
    assert "menu.txt" in elsewhere.body, "the other room's own file was searched and found"

    # Carol is not in the club: her direct chat cannot use its files, even by name.
    carol = await make_user("carol")
    carols_dm, _ = await open_direct_chat(carol, bot_id)
    refused = await ask(carol, carols_dm, bot_id, f"!use {club.alias}")
    assert refused.body == strings.USE_NOT_MEMBER.format(room=club.alias)
    plain = await ask(carol, carols_dm, bot_id, "when are the yearly dues paid?")
    assert files_of(embedder.chat_requests()[-1]) == "" and "rules.md" not in plain.body

    # Bob is: in his direct chat, only once he names the room.
    bobs_dm, _ = await open_direct_chat(bob, bot_id)
    before = await ask(bob, bobs_dm, bot_id, "when are the yearly dues paid?")
    assert "rules.md" not in before.body
    chosen = await ask(bob, bobs_dm, bot_id, f"!use {club.alias}")
    assert chosen.body == strings.USE_SET.format(room=club.alias)
    used = await ask(bob, bobs_dm, bot_id, "when are the yearly dues paid?")
    assert f"[rules.md, section Dues]({link_to(room_id, file_id)})" in used.body
    assert club.alias in used.body, "the answer says whose files it used"

    # `!use` in a group room would show one room's files to another room's people.
    group = await ask(alice, other, bot_id, f"@bot !use {club.alias}")
    assert group.body == strings.USE_ONLY_DIRECT

    # Once Bob leaves the club, his direct chat no longer reads its files.
    await bob.client.room_leave(room_id)
    after = await ask(bob, bobs_dm, bot_id, "when are the yearly dues paid?")
    assert after.body == strings.KNOWLEDGE_SOURCE_GONE.format(room=club.alias)


async def test_a_pdf_is_cited_by_page_and_a_question_in_a_thread_is_answered_there(
    club: Club, embedder: OllamaDouble
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    pdf = make_pdf(
        [
            "Annual report of the chess club.\nWe had a good year.",
            "The tournament in May was won by Bruno.\nSecond place went to Ilse.",
            "Finances: the club spent sixty euros on new clocks.",
        ]
    )
    file_id, ready = await post_and_wait(alice, room_id, bot_id, "report.pdf", pdf, "application/pdf")
    assert "3 pages" in ready.body

    root = await alice.send(room_id, "Questions about the report go here")
    question = await bob.send(
        room_id,
        "@bot who won the tournament in May?",
        **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}},
    )
    answer = await wait_for_answer(bob, room_id, question, bot_id, timeout=60)
    assert answer.content["m.relates_to"]["rel_type"] == "m.thread"
    assert answer.content["m.relates_to"]["event_id"] == root
    assert f"[report.pdf, page 2]({link_to(room_id, file_id)})" in answer.body
    assert "won by Bruno" in answer.body


async def test_a_file_in_an_encrypted_room_is_decrypted_and_read(
    synapse: SynapseServer, bot: BotProcess, embedder: OllamaDouble, make_user: UserFactory, tmp_path: Path
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice", store_path=str(tmp_path))
    room_id = await encrypted_dm(alice, bot_id)
    await keys_housekeeping(alice.client)
    notes = b"The spare key of the allotment shed is under the blue flower pot."
    file_id, ready = await post_and_wait(
        alice, room_id, bot_id, "notes.txt", notes, "text/plain", encrypted=True
    )
    assert "I've read **notes.txt**" in ready.body

    answer = await ask(alice, room_id, bot_id, "where is the spare key of the shed?")
    assert "blue flower pot" in files_of(embedder.chat_requests()[-1])
    assert f"[notes.txt, the text]({link_to(room_id, file_id)})" in answer.body


BAD_FILES: list[tuple[str, bytes, str, str]] = [
    ("empty.txt", b"", "text/plain", "empty"),
    ("ping @room.txt", b"", "text/plain", "empty"),  # a name cannot notify the room
    ("photo.pdf", b"this is plain text, not a PDF at all", "application/pdf", "not a PDF"),
    ("binary.txt", bytes(range(256)) * 8, "text/plain", "not a text file"),
    ("locked.pdf", make_encrypted_pdf(["secret minutes"]), "application/pdf", "password"),
    ("broken.pdf", make_pdf(["a page that is cut off half way"])[:150], "application/pdf", "damaged"),
    ("scan.pdf", make_scanned_pdf(), "application/pdf", "no text"),
    ("pages.pdf", make_page_bomb(100_000), "application/pdf", "pages"),
    ("inflating.pdf", make_flate_bomb(600), "application/pdf", ""),
    ("huge.txt", b"word " * (2 * 1024 * 1024 // 5 + 10), "text/plain", "larger than 2 MB"),
]


async def test_bad_files_get_a_clear_reason_and_stop_nothing(
    club: Club, embedder: OllamaDouble, knowledge: KnowledgeStore
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    posted = [
        (await post_file(alice, room_id, name, data, mime), name, words)
        for name, data, mime, words in BAD_FILES
    ]
    question = await bob.send(room_id, "@bot are you still there?")
    for event_id, name, words in posted:
        notice = await wait_for_answer(alice, room_id, event_id, bot_id, timeout=90)
        assert notice.body.startswith("I couldn't add this file to the room's knowledge."), (
            name,
            notice.body,
        )
        assert defuse_mentions(name) in notice.body and "@room" not in notice.body, (name, notice.body)
        assert words.lower() in notice.body.lower(), (name, notice.body)
        state = await knowledge.file(event_id)
        assert state is not None and state.state == KNOWLEDGE_FAILED and state.reason, name
    await wait_for_answer(bob, room_id, question, bot_id, timeout=30)

    docs = await ask(bob, room_id, bot_id, "!docs")
    assert docs.body.count("could not be read") == len(BAD_FILES)
    _, ready = await post_and_wait(alice, room_id, bot_id, "rules.md", RULES.encode(), "text/markdown")
    assert "I've read" in ready.body, "a good file after the bad ones is still read"


async def test_removing_the_files_message_forgets_its_knowledge(
    club: Club, embedder: OllamaDouble, knowledge: KnowledgeStore
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    file_id, _ = await post_and_wait(alice, room_id, bot_id, "rules.md", RULES.encode(), "text/markdown")
    # Bob cannot remove Alice's file (Synapse refuses), so it stays.
    refused = await bob.client.room_redact(room_id, file_id, "not mine")
    assert not isinstance(refused, RoomRedactResponse)
    redacted = await alice.client.room_redact(room_id, file_id, "outdated")
    assert isinstance(redacted, RoomRedactResponse), redacted
    await wait_for_file(knowledge, file_id, lambda state: state is None)

    answer = await ask(bob, room_id, bot_id, "@bot when are the yearly dues paid?")
    assert files_of(embedder.chat_requests()[-1]) == "" and "rules.md" not in answer.body
    docs = await ask(bob, room_id, bot_id, "!docs")
    assert "no files" in docs.body


def big_markdown(sections: int) -> bytes:
    return "\n\n".join(
        f"## Topic {n}\n\n" + f"Paragraph about subject{n} and item{n * 7}, with details. " * 30
        for n in range(sections)
    ).encode()


async def test_while_a_file_is_read_questions_say_so_and_others_are_not_held_up(
    club: Club, embedder: OllamaDouble, knowledge: KnowledgeStore
) -> None:
    alice, bob, room_id, bot_id = club.alice, club.bob, club.room_id, club.bot_id
    embedder.embed_delay = 1.0  # each batch of passages takes a second
    file_id = await post_file(alice, room_id, "big.md", big_markdown(120), "text/markdown")
    await wait_for_file(knowledge, file_id, lambda s: s is not None and s.state == KNOWLEDGE_INDEXING)

    started = time.monotonic()
    answer = await ask(bob, room_id, bot_id, "@bot tell me about subject3 and item21")
    took = time.monotonic() - started
    assert "Still being read: big.md" in answer.body
    assert took < 10, f"a question waited {took:.1f} s behind a file being read"
    docs = await ask(alice, room_id, bot_id, "!docs")
    assert re.search(r"big\.md\*\* \(posted by [^)]+\): being read, \d+%", docs.body), docs.body

    embedder.embed_delay = 0
    ready = await wait_for_answer(alice, room_id, file_id, bot_id, timeout=120)
    assert "I've read **big.md**" in ready.body


async def test_a_sigkill_while_a_file_is_read_loses_nothing_and_duplicates_nothing(
    synapse: SynapseServer, club: Club, embedder: OllamaDouble, knowledge: KnowledgeStore, bot: BotProcess
) -> None:
    alice, room_id, bot_id = club.alice, club.room_id, club.bot_id
    embedder.embed_delay = 0.5
    file_id = await post_file(alice, room_id, "big.md", big_markdown(60), "text/markdown")
    await wait_for_file(
        knowledge, file_id, lambda s: s is not None and s.state == KNOWLEDGE_INDEXING and s.chunks > 0
    )
    bot.stop(signal.SIGKILL)  # mid-file
    embedder.embed_delay = 0
    bot.start()

    ready = await wait_for_file(knowledge, file_id, lambda s: s is not None and s.state == KNOWLEDGE_READY)
    assert ready is not None
    await wait_for_answer(alice, room_id, file_id, bot_id, lambda v: "I've read **big.md**" in v.body, 60)
    answer = await ask(alice, room_id, bot_id, "@bot tell me about subject42 and item294")
    assert "big.md, section Topic 42" in answer.body
    # Every passage is stored once: as many as the file has, numbered without gaps.
    assert await stored_sequence(synapse, file_id) == list(range(ready.chunks))


async def stored_sequence(synapse: SynapseServer, file_id: str) -> list[int]:
    engine = make_engine(synapse.app_database_url or default_database_url(synapse.settings.data_dir))
    query = (
        select(KnowledgeChunk.seq).where(KnowledgeChunk.file_event_id == file_id).order_by(KnowledgeChunk.seq)
    )
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()

"""The model tier through the real Synapse and the real bot, with two Ollama doubles as
two servers (OLLAMA_BASE_URL lists both, OLLAMA_PARALLEL=1): requests spread over both,
a server stopped in the middle of a burst loses no answer, one person's flood does not
delay another person's question beyond one place, a long wait shows the person their
place (then the answer replaces it), the default model is warmed up at start, and the
context length Ollama uses is the bot's token budget."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import open_direct_chat, replies_to, wait_for_answer
from tests.ollama_double import FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer

CONTEXT_TOKENS = 3000


@pytest.fixture(scope="module")
def second_server() -> Iterator[OllamaDouble]:
    double = OllamaDouble(models=[FakeModel("llama3:latest")]).start()
    yield double
    double.stop()


@pytest.fixture
def tier(bot: BotProcess, ollama: OllamaDouble, second_server: OllamaDouble) -> Iterator[list[OllamaDouble]]:
    """The session's bot, restarted on two servers that take one request each at a time."""
    second_server.reset()
    if second_server._loop is None:
        second_server.start()
    saved = dict(bot.env)
    bot.stop()
    bot.env.update(
        OLLAMA_BASE_URL=f"{ollama.base_url},{second_server.base_url}",
        OLLAMA_PARALLEL="1",
        MAX_CONTEXT_TOKENS=str(CONTEXT_TOKENS),
        USER_RATE_LIMIT="1000/minute",
    )
    bot.start()
    yield [ollama, second_server]
    bot.stop()
    bot.env.clear()
    bot.env.update(saved)
    if second_server._loop is None:
        second_server.start()
    bot.start()


async def test_requests_spread_over_both_servers_and_carry_the_context_length(
    synapse: SynapseServer, tier: list[OllamaDouble], make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    for double in tier:
        double.chunk_delay = 0.1
    people = [await make_user(f"spread{i}") for i in range(4)]
    rooms = [(await open_direct_chat(person, bot_id))[0] for person in people]
    questions = await asyncio.gather(*(p.send(r, "hello tier") for p, r in zip(people, rooms, strict=True)))
    await asyncio.gather(
        *(
            wait_for_answer(p, r, q, bot_id, "You said: hello tier")
            for p, r, q in zip(people, rooms, questions, strict=True)
        )
    )
    assert all(double.chat_requests() for double in tier), "one server did all the work"
    assert max(double.most_at_once for double in tier) == 1  # OLLAMA_PARALLEL is kept
    options = [r.get("options", {}) for double in tier for r in double.chat_requests()]
    assert all(o.get("num_ctx") == CONTEXT_TOKENS for o in options), options


async def test_a_server_stopped_mid_burst_loses_no_answer(
    synapse: SynapseServer, tier: list[OllamaDouble], make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    words = " ".join(f"w{i}" for i in range(10))
    for double in tier:
        double.reply = lambda request: words
        double.chunk_delay = 0.15
    people = [await make_user(f"burst{i}") for i in range(6)]
    rooms = [(await open_direct_chat(person, bot_id))[0] for person in people]
    questions = await asyncio.gather(*(p.send(r, "tell me") for p, r in zip(people, rooms, strict=True)))
    deadline = time.monotonic() + 20
    while not tier[1].chat_requests():  # the second server is working on one
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    tier[1].stop()
    views = await asyncio.gather(
        *(
            wait_for_answer(p, r, q, bot_id, words, timeout=60)
            for p, r, q in zip(people, rooms, questions, strict=True)
        )
    )
    assert all(view.other_replies == [] for view in views)  # one reply each, complete


async def test_one_persons_flood_does_not_delay_another_persons_question_beyond_one_place(
    synapse: SynapseServer, tier: list[OllamaDouble], make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    for double in tier:
        double.first_chunk_delay = 0.4  # each answer holds its server for 0.4 s
    flooder, other = await make_user("flooder"), await make_user("other")
    flood_rooms = [(await open_direct_chat(flooder, bot_id))[0] for _ in range(4)]  # 4 conversations
    room, _ = await open_direct_chat(other, bot_id)
    flood = [await flooder.send(r, f"flood {i}-{j}") for j in range(3) for i, r in enumerate(flood_rooms)]
    started = time.monotonic()
    single = await other.send(room, "just one")
    await wait_for_answer(other, room, single, bot_id, "You said: just one", timeout=60)
    waited = time.monotonic() - started
    # 12 flood questions queued before it on 2 servers of one place each: unfair would be ~2.4 s;
    # with turns it waits for at most the answers already started plus one place.
    assert waited < 1.6, f"the single question waited {waited:.1f} s behind the flood"
    for j in range(3):
        for i, r in enumerate(flood_rooms):
            await wait_for_answer(
                flooder, r, flood[j * 4 + i], bot_id, f"You said: flood {i}-{j}", timeout=60
            )


async def test_a_long_wait_shows_the_place_and_the_answer_replaces_it(
    synapse: SynapseServer, tier: list[OllamaDouble], make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    for double in tier:
        double.first_chunk_delay = 4.5  # longer than the 3 s after which a wait is shown
    busy = [await make_user(f"busy{i}") for i in range(2)]
    waiting = await make_user("waiting")
    busy_rooms = [(await open_direct_chat(person, bot_id))[0] for person in busy]
    room, _ = await open_direct_chat(waiting, bot_id)
    for person, busy_room in zip(busy, busy_rooms, strict=True):
        await person.send(busy_room, "occupy a server")
    deadline = time.monotonic() + 20
    while not all(double.chat_requests() for double in tier):  # both servers are busy
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    question = await waiting.send(room, "my turn?")
    place = await waiting.wait_for(room, replies_to(question, bot_id), timeout=20)
    assert "yours is next" in place["content"]["body"] or "ahead of yours" in place["content"]["body"]
    assert place["content"]["msgtype"] == "m.notice"
    view = await wait_for_answer(waiting, room, question, bot_id, "You said: my turn?", timeout=30)
    assert view.other_replies == [], "the answer came as a second message instead of replacing the notice"


async def test_the_default_model_is_warmed_up_at_start(tier: list[OllamaDouble]) -> None:
    deadline = time.monotonic() + 20
    while not all(double.generate_requests() for double in tier):  # the bot warms up as it starts
        assert time.monotonic() < deadline, "no warm-up request reached every server"
        await asyncio.sleep(0.05)
    warmed = [r for double in tier for r in double.generate_requests()]
    assert all(r.get("model") == "llama3:latest" and r.get("keep_alive") for r in warmed), warmed
    assert all("llama3:latest" in double.loaded for double in tier)


async def test_a_model_still_loading_is_said_plainly_and_the_answer_replaces_it(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    """A cold model that takes longer to load than the bot's loading check (5 s) but less
    than the first-token timeout: the person is told it is loading, then gets the answer."""
    bot_id = synapse.provisioned.bot_user_id
    ollama.load_delay = 7.0  # reset() emptied `loaded`: the model is out of memory
    alice = await make_user("coldstart")
    room, _ = await open_direct_chat(alice, bot_id)
    question = await alice.send(room, "are you awake?")
    notice = await alice.wait_for(room, replies_to(question, bot_id), timeout=20)
    assert notice["content"]["msgtype"] == "m.notice"
    assert "is loading into memory" in notice["content"]["body"]
    view = await wait_for_answer(alice, room, question, bot_id, "You said: are you awake?", timeout=30)
    assert view.other_replies == [], "the answer came as a second message instead of replacing the notice"

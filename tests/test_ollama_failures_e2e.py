"""The failures a real Ollama has, through the real Synapse, the real bot and the Ollama
double: an error line mid-stream, a stop at the length limit, sub-word tokens, a refused
request, a model that only embeds, and a first token later than the bot's timeout. Each
test checks what the person sees, what the bot remembers, and that the next question is
answered normally."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ollama as ollama_client
import pytest

from bot import strings
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import AnswerView, MatrixUser, open_direct_chat, wait_for_answer
from tests.ollama_double import EMBEDDING_DIMENSIONS, FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer

BOT_OLLAMA_TIMEOUT_S = 10  # OLLAMA_TIMEOUT of the `bot` fixture in tests/conftest.py
EMBEDDER = "nomic-embed-text:latest"


async def _ask(
    user: MatrixUser, room_id: str, bot_id: str, text: str, done: str | None = None, timeout: float = 30.0
) -> AnswerView:
    question = await user.send(room_id, text)
    return await wait_for_answer(user, room_id, question, bot_id, done, timeout=timeout)


def _remembered(ollama: OllamaDouble) -> list[str]:
    """What the last chat request carried after the system prompt: memory, then the question."""
    return [m["content"] for m in ollama.chat_requests()[-1]["messages"][1:]]


async def _still_answers(user: MatrixUser, room_id: str, bot_id: str, ollama: OllamaDouble) -> None:
    ollama.reset()
    await _ask(user, room_id, bot_id, "are you all right?", "You said: are you all right?")


async def test_an_error_line_mid_stream_shows_what_arrived_and_stores_nothing(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.reply = lambda request: "the river rises in the northern hills"
    ollama.error_after_chunks = 3  # a 200, three words, then {"error": ...}

    cut = await _ask(
        alice,
        room_id,
        bot_id,
        "where does the river rise?",
        f"the river rises\n\n{strings.ANSWER_INTERRUPTED}",
    )
    assert cut.content["msgtype"] == "m.text"
    assert cut.other_replies == [], "a second reply (an 'unavailable' notice) came as well"

    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["are you all right?"], "the half answer was stored"


async def test_a_stop_at_the_length_limit_shows_the_answer_and_says_so(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.scripted.append("Once upon a time there lived a")
    ollama.done_reason = "length"

    shown = f"Once upon a time there lived a\n\n{strings.ANSWER_AT_LENGTH_LIMIT}"
    await _ask(alice, room_id, bot_id, "tell me a story", shown)

    # The model's words are remembered; the bot's own notice is not put in its mouth.
    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["tell me a story", "Once upon a time there lived a", "are you all right?"]


async def test_sub_word_tokens_are_joined_into_the_exact_answer(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    text = "Photosynthesis turns **sunlight** into sugar, doesn't it? Chlorophyll-rich leaves do."
    ollama.scripted.append(text)
    ollama.chunk_chars = 3  # "Pho", "tos", "ynt", …: tokens that split words
    ollama.chunk_delay = 0.05  # about 1.5 s of writing, shown as it grows

    answer = await _ask(alice, room_id, bot_id, "how do plants eat?", text)
    assert answer.reply is not None
    for shown in [
        answer.reply["content"]["body"],
        *(e["content"]["m.new_content"]["body"] for e in answer.edits),
    ]:
        assert text.startswith(shown), f"a piece was shown with something added or lost: {shown!r}"
    assert "<strong>sunlight</strong>" in answer.content["formatted_body"]

    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["how do plants eat?", text, "are you all right?"]


async def test_a_refused_request_gives_ollamas_reason(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    reason = "json: cannot unmarshal number into Go struct field ChatRequest.messages of type string"
    ollama.error_status, ollama.error_message = 400, reason

    refused = await _ask(alice, room_id, bot_id, "hello?", strings.AI_REFUSED.format(reason=reason))
    assert refused.content["msgtype"] == "m.notice"

    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["are you all right?"], "the refused question was stored"


async def test_a_model_that_only_embeds_is_not_offered_and_is_named_as_unable_to_chat(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.models.append(FakeModel(EMBEDDER, embedding_only=True, family="nomic-bert"))
    listing = await _ask(alice, room_id, bot_id, "!models")
    assert EMBEDDER not in listing.body and "llama3:latest" in listing.body
    refused = await _ask(alice, room_id, bot_id, "!model nomic-embed-text")
    assert "no model called" in refused.body

    # A model chosen while it could chat, replaced in Ollama by one that only embeds.
    ollama.models[-1] = FakeModel("llava2:latest", vision=True)
    chosen = await _ask(alice, room_id, bot_id, "!model llava2")
    assert chosen.body == strings.MODEL_SET.format(model="llava2:latest")
    ollama.models[-1] = FakeModel("llava2:latest", embedding_only=True)
    cannot = await _ask(
        alice, room_id, bot_id, "hello embedder", strings.MODEL_CANNOT_CHAT.format(model="llava2:latest")
    )
    assert cannot.content["msgtype"] == "m.notice"
    assert ollama.chat_requests()[-1]["model"] == "llava2:latest"

    await _ask(alice, room_id, bot_id, "!model llama3")
    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["are you all right?"]


async def test_a_first_token_later_than_the_timeout_gives_the_unavailable_notice(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.first_chunk_delay = BOT_OLLAMA_TIMEOUT_S + 5  # the model is loading, or overloaded

    slow = await _ask(
        alice, room_id, bot_id, "anyone home?", strings.AI_UNAVAILABLE, timeout=BOT_OLLAMA_TIMEOUT_S + 8
    )
    assert slow.content["msgtype"] == "m.notice"
    assert slow.other_replies == []

    await _still_answers(alice, room_id, bot_id, ollama)
    assert _remembered(ollama) == ["are you all right?"]


async def test_the_double_describes_an_embedding_model_as_ollama_does(ollama: OllamaDouble) -> None:
    """The embed-only model through the `ollama` client the bot uses: listed, shown with
    only the embedding capability, refused for chat with Ollama's words, and embedding
    texts into deterministic unit vectors that are close when the texts share words."""
    ollama.models.append(FakeModel(EMBEDDER, embedding_only=True))
    client = ollama_client.AsyncClient(host=ollama.base_url)

    assert EMBEDDER in [m.model for m in (await client.list()).models]
    assert (await client.show(EMBEDDER)).capabilities == ["embedding"]
    with pytest.raises(ollama_client.ResponseError) as refused:
        await client.chat(EMBEDDER, [{"role": "user", "content": "hi"}])
    assert (refused.value.status_code, refused.value.error) == (400, f'"{EMBEDDER}" does not support chat')

    texts = ["the cat sat on the mat", "a cat on a mat", "quantum chromodynamics lecture notes"]
    cat, cat_again, physics = (await client.embed(EMBEDDER, texts)).embeddings
    assert len(cat) == EMBEDDING_DIMENSIONS
    assert math.isclose(sum(x * x for x in cat), 1.0)
    assert (await client.embed(EMBEDDER, texts[0])).embeddings[0] == cat

    def similarity(a: Sequence[float], b: Sequence[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert similarity(cat, cat_again) > similarity(cat, physics)

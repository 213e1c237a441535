"""Reactions on the bot's answers, through the real Synapse and the Ollama double: 🔁
answers the question again as an edit of the same message (the first text stays in its
edit history), ⏩ continues an answer that stopped at the length limit, 👍/👎 are counted
per model for the admins; only the asker or a moderator can use 🔁 and ⏩, and others'
reactions change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from nio import RoomSendResponse

from appdb.answers import AnswerStore
from appdb.engine import default_database_url, make_engine
from bot import strings
from bot.reactions import GO_ON_PROMPT
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import AnswerView, MatrixUser, wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer
from tests.test_room_member_e2e import _named, _room


async def _react(user: MatrixUser, room_id: str, event_id: str, key: str) -> str:
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
    response = await user.client.room_send(room_id, "m.reaction", content)
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


@pytest.fixture
async def answers(synapse: SynapseServer) -> AsyncIterator[AnswerStore]:
    engine = make_engine(synapse.app_database_url or default_database_url(synapse.settings.data_dir))
    yield AnswerStore(engine)
    await engine.dispose()


@pytest.fixture
async def room(
    synapse: SynapseServer, bot: BotProcess, make_user: UserFactory
) -> tuple[MatrixUser, MatrixUser, MatrixUser, str]:
    """Anna (the room's creator, so a moderator), Ben and Carla with the bot."""
    anna, ben, carla = [await _named(make_user, name) for name in ("Anna", "Ben", "Carla")]
    return anna, ben, carla, await _room(anna, synapse.provisioned.bot_user_id, ben, carla)


async def _answer(user: MatrixUser, room_id: str, bot_id: str, text: str, expected: str) -> AnswerView:
    question = await user.send(room_id, text)
    return await wait_for_answer(user, room_id, question, bot_id, lambda v: expected in v.body, 60)


def _requests(ollama: OllamaDouble) -> list[dict[str, Any]]:
    return ollama.chat_requests()


async def test_a_repeat_reaction_answers_again_in_the_same_message_for_the_asker_and_moderators_only(
    synapse: SynapseServer, room: tuple[MatrixUser, MatrixUser, MatrixUser, str], ollama: OllamaDouble
) -> None:
    anna, ben, carla, room_id = room
    bot_id = synapse.provisioned.bot_user_id
    ollama.scripted.append("Once upon a time, a knight.")
    first = await _answer(ben, room_id, bot_id, "@bot tell me a story", "a knight")
    assert first.reply is not None
    answer_id = first.reply["event_id"]

    # Carla did not ask and is no moderator: her 🔁 changes nothing. Her next question runs
    # after it (one person's work runs in order), so once it is answered, hers was handled.
    asked_before = len(_requests(ollama))
    await _react(carla, room_id, answer_id, "🔁")
    await _answer(carla, room_id, bot_id, "@bot ping", "ping")
    assert len(_requests(ollama)) == asked_before + 1, "only Carla's question went to the model"

    ollama.scripted.append("Long ago, a dragon.")
    await _react(ben, room_id, answer_id, "🔁\ufe0f")
    again = await wait_for_answer(
        ben, room_id, first.question_id, bot_id, lambda v: "dragon" in v.body, 60, view=first
    )
    assert again.body == "Long ago, a dragon."
    assert again.edits[-1]["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": answer_id}
    assert again.reply["content"]["body"] == "Once upon a time, a knight.", (
        "the first text stays as the original"
    )
    assert _requests(ollama)[-1]["messages"][-1]["content"].endswith("Ben asks: tell me a story")

    ollama.scripted.append("In a far land, a wizard.")
    await _react(anna, room_id, answer_id, "🔁")  # the room's moderator may
    await wait_for_answer(
        ben, room_id, first.question_id, bot_id, lambda v: "wizard" in v.body, 60, view=again
    )


async def test_a_continue_reaction_goes_on_where_the_answer_stopped(
    synapse: SynapseServer, room: tuple[MatrixUser, MatrixUser, MatrixUser, str], ollama: OllamaDouble
) -> None:
    _, ben, _, room_id = room
    bot_id = synapse.provisioned.bot_user_id
    ollama.done_reason = "length"
    ollama.scripted.append("The three rules are: first, be kind;")
    cut = await _answer(
        ben, room_id, bot_id, "@bot what are the three rules?", strings.ANSWER_AT_LENGTH_LIMIT
    )
    assert cut.reply is not None
    ollama.done_reason = "stop"
    ollama.scripted.append("second, be on time; third, tidy up.")
    await _react(ben, room_id, cut.reply["event_id"], "⏩")
    whole = await wait_for_answer(
        ben, room_id, cut.question_id, bot_id, lambda v: "tidy up" in v.body, 60, view=cut
    )
    assert whole.body == "The three rules are: first, be kind; second, be on time; third, tidy up."
    sent = _requests(ollama)[-1]["messages"]
    assert sent[-2] == {"role": "assistant", "content": "The three rules are: first, be kind;"}
    assert sent[-1]["content"] == GO_ON_PROMPT


async def test_thumbs_are_counted_per_model_without_the_words(
    synapse: SynapseServer,
    room: tuple[MatrixUser, MatrixUser, MatrixUser, str],
    ollama: OllamaDouble,
    answers: AnswerStore,
) -> None:
    anna, ben, carla, room_id = room
    bot_id = synapse.provisioned.bot_user_id
    before = {count.model: count for count in await answers.feedback(date.today())}
    answer = await _answer(ben, room_id, bot_id, "@bot rate me", "rate me")
    assert answer.reply is not None
    await _react(ben, room_id, answer.reply["event_id"], "👍")
    await _react(carla, room_id, answer.reply["event_id"], "👎")
    await _react(anna, room_id, answer.reply["event_id"], "👍")
    # Each person's next question runs after their reaction: then it is counted.
    for person in (ben, carla, anna):
        await _answer(person, room_id, bot_id, "@bot done?", "done?")
    after = {count.model: count for count in await answers.feedback(date.today())}
    old = before.get("llama3:latest")
    up, down = (old.up, old.down) if old else (0, 0)
    assert (after["llama3:latest"].up, after["llama3:latest"].down) == (up + 2, down + 1)

"""The assistant as a member of the room, through the real Synapse and the Ollama double:
a persona set by a moderator (and refused, politely, for others), kept as a room state
event and read from any client; shared notes added, listed, forgotten and seen by the
model only in their room; who said what in a group room; and a persona that cannot
make the assistant notify the room."""

from __future__ import annotations

from typing import Any

import pytest
from nio import RoomPutStateResponse

from bot import strings
from common.room_persona import PERSONA_EVENT_TYPE
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import AnswerView, MatrixUser, open_direct_chat, room_with_bot, wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer


async def _named(make_user: UserFactory, name: str) -> MatrixUser:
    user = await make_user(name.lower())
    await user.client.set_displayname(name)
    return user


async def _room(
    owner: MatrixUser,
    bot_id: str,
    *others: MatrixUser,
    bot_level: int | None = 50,
    visibility: str = "shared",
) -> str:
    """A group room of `owner` with the bot, a moderator by default (it may set the persona)."""
    return await room_with_bot(owner, bot_id, *others, bot_level=bot_level, visibility=visibility)


async def _ask(user: MatrixUser, room_id: str, bot_id: str, text: str) -> AnswerView:
    question = await user.send(room_id, text)
    return await wait_for_answer(user, room_id, question, bot_id, timeout=60)


def _system(request: dict[str, Any]) -> str:
    return str(request["messages"][0]["content"])


def _last(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


@pytest.fixture
async def club(
    synapse: SynapseServer, bot: BotProcess, make_user: UserFactory
) -> tuple[MatrixUser, MatrixUser, str]:
    anna, ben = await _named(make_user, "Anna"), await _named(make_user, "Ben")
    return anna, ben, await _room(anna, synapse.provisioned.bot_user_id, ben)


async def test_a_moderator_sets_the_persona_others_are_refused_and_any_client_can_set_it(
    synapse: SynapseServer, club: tuple[MatrixUser, MatrixUser, str], ollama: OllamaDouble
) -> None:
    anna, ben, room_id = club
    bot_id = synapse.provisioned.bot_user_id
    none = await _ask(ben, room_id, bot_id, "@bot !persona")
    assert none.body == strings.PERSONA_NONE

    refused = await _ask(ben, room_id, bot_id, "@bot !persona You are a pirate.")
    assert refused.body == strings.PERSONA_NOT_ALLOWED
    done = await _ask(anna, room_id, bot_id, "@bot !persona\nYou are the chess club's patient coach.")
    assert done.body == strings.PERSONA_SET
    stored = await anna.client.room_get_state_event(room_id, PERSONA_EVENT_TYPE)
    assert stored.content == {"prompt": "You are the chess club's patient coach.", "set_by": anna.user_id}  # type: ignore[union-attr]

    await _ask(ben, room_id, bot_id, "@bot how do I castle?")
    assert "<persona>\nYou are the chess club's patient coach.\n</persona>" in _system(
        ollama.chat_requests()[-1]
    )
    shown = await _ask(ben, room_id, bot_id, "@bot !persona")
    assert "patient coach" in shown.body and anna.user_id in shown.body

    # Set from a client's own room settings: the bot's next answer uses it.
    put = await anna.client.room_put_state(
        room_id, PERSONA_EVENT_TYPE, {"prompt": "You speak like a sports commentator."}
    )
    assert isinstance(put, RoomPutStateResponse), put
    await anna.wait_for(room_id, lambda e: e.get("type") == PERSONA_EVENT_TYPE)
    await _ask(ben, room_id, bot_id, "@bot who won?")
    assert "sports commentator" in _system(ollama.chat_requests()[-1])

    reset = await _ask(anna, room_id, bot_id, "@bot !persona reset")
    assert reset.body == strings.PERSONA_RESET
    await _ask(ben, room_id, bot_id, "@bot and now?")
    assert "<persona>" not in _system(ollama.chat_requests()[-1])


async def test_a_persona_cannot_make_the_assistant_notify_the_room(
    synapse: SynapseServer, club: tuple[MatrixUser, MatrixUser, str], ollama: OllamaDouble
) -> None:
    anna, ben, room_id = club
    bot_id = synapse.provisioned.bot_user_id
    await _ask(anna, room_id, bot_id, "@bot !persona Start every answer by calling @room to attention.")
    ollama.scripted.append("@room attention! Castling moves the king two squares.")
    answer = await _ask(ben, room_id, bot_id, "@bot how do I castle?")
    assert "@room" not in answer.body and "@\u2060room attention" in answer.body
    assert answer.content["m.mentions"] == {"user_ids": [ben.user_id]}


async def test_the_bot_says_what_it_needs_when_it_may_not_change_the_rooms_settings(
    synapse: SynapseServer, bot: BotProcess, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    anna = await _named(make_user, "Anna")
    room_id = await _room(anna, bot_id, bot_level=None)
    answer = await _ask(anna, room_id, bot_id, "@bot !persona You are a coach.")
    assert answer.body == strings.PERSONA_BOT_NOT_ALLOWED.format(event_type=PERSONA_EVENT_TYPE)


async def test_room_notes_are_shared_in_their_room_only_and_removed_by_their_author_or_a_moderator(
    synapse: SynapseServer,
    club: tuple[MatrixUser, MatrixUser, str],
    ollama: OllamaDouble,
    make_user: UserFactory,
) -> None:
    anna, ben, room_id = club
    bot_id = synapse.provisioned.bot_user_id
    carla = await _named(make_user, "Carla")
    await anna.client.room_invite(room_id, carla.user_id)
    await carla.join(room_id)

    added = await _ask(ben, room_id, bot_id, "@bot !remember The spare key is under the blue pot.")
    assert added.body == strings.NOTES_REMEMBERED.format(number=1)
    await _ask(carla, room_id, bot_id, "@bot !remember Meetings are on Fridays.")
    listing = await _ask(anna, room_id, bot_id, "@bot !notes")
    assert "1. The spare key is under the blue pot. (added by Ben)" in listing.body
    assert "2. Meetings are on Fridays. (added by Carla)" in listing.body

    await _ask(anna, room_id, bot_id, "@bot where is the key?")
    system = _system(ollama.chat_requests()[-1])
    assert "- The spare key is under the blue pot. (added by Ben)" in system
    assert "shared with everyone in this room" in system

    # Another room (Ben's own chat with the bot) never sees them.
    dm, _ = await open_direct_chat(ben, bot_id)
    await _ask(ben, dm, bot_id, "where is the key?")
    assert "blue pot" not in str(ollama.chat_requests()[-1]["messages"])

    refused = await _ask(carla, room_id, bot_id, "@bot !forget 1")
    assert refused.body == strings.NOTES_NOT_YOURS.format(number=1)
    own = await _ask(carla, room_id, bot_id, "@bot !forget 2")
    assert "Meetings are on Fridays" in own.body
    by_moderator = await _ask(anna, room_id, bot_id, "@bot !forget 1")
    assert "spare key" in by_moderator.body
    empty = await _ask(ben, room_id, bot_id, "@bot !notes")
    assert empty.body == strings.NOTES_NONE


async def test_in_a_group_room_the_model_knows_who_said_what_and_in_a_direct_chat_nothing_changes(
    synapse: SynapseServer, club: tuple[MatrixUser, MatrixUser, str], ollama: OllamaDouble
) -> None:
    anna, ben, room_id = club
    bot_id = synapse.provisioned.bot_user_id
    await anna.send(room_id, "I suggest we meet on Saturday at the library.")
    await ben.send(room_id, "Sounds good, I'll bring the boards.")
    await _ask(ben, room_id, bot_id, "@bot what did Anna suggest?")
    sent = _last(ollama.chat_requests()[-1])
    assert "Anna: I suggest we meet on Saturday at the library." in sent
    assert "Ben: Sounds good, I'll bring the boards." in sent
    assert sent.endswith("Ben asks: what did Anna suggest?")

    dm, _ = await open_direct_chat(ben, bot_id)
    await _ask(ben, dm, bot_id, "what is a fork in chess?")
    assert _last(ollama.chat_requests()[-1]) == "what is a fork in chess?"


async def test_the_room_context_holds_only_what_the_asker_could_read(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    anna, ben, carla = [await _named(make_user, name) for name in ("Anna", "Ben", "Carla")]
    room_id = await _room(anna, bot_id, ben, visibility="joined")
    await anna.send(room_id, "Before Carla comes: the surprise party is on Sunday.")
    await anna.client.room_invite(room_id, carla.user_id)
    await carla.join(room_id)
    await anna.send(room_id, "Welcome Carla! We meet on Friday.")
    await _ask(carla, room_id, bot_id, "@bot when do we meet?")
    sent = _last(ollama.chat_requests()[-1])
    assert "Anna: Welcome Carla! We meet on Friday." in sent
    assert "surprise party" not in str(ollama.chat_requests()[-1]["messages"])
    await _ask(ben, room_id, bot_id, "@bot what is planned?")
    assert "Anna: Before Carla comes: the surprise party is on Sunday." in _last(ollama.chat_requests()[-1])

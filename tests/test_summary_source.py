"""What a summary reads, against the real Synapse (read with another person's client in
the bot's place): never more than its limits, with the cut said; an edit counts only
when its author made it; the bot's own messages are not the conversation."""

from __future__ import annotations

import pytest
from nio import RoomCreateResponse, RoomPreset

from bot.summary.request import SummaryRequest
from bot.summary.source import RoomHistory, Where
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser

EVERYTHING = SummaryRequest(last=None, span="everything")


async def _room(owner: MatrixUser, *others: MatrixUser) -> str:
    created = await owner.client.room_create(
        preset=RoomPreset.private_chat, invite=[user.user_id for user in others]
    )
    assert isinstance(created, RoomCreateResponse), created
    for user in others:
        await user.join(created.room_id)
    return created.room_id


def _edit(original: str, text: str) -> dict[str, object]:
    return {
        "m.new_content": {"msgtype": "m.text", "body": text},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


@pytest.mark.parametrize(("max_messages", "max_pages", "read"), [(10, 100, 10), (500, 1, 99)])
async def test_a_long_room_is_read_within_the_limits_and_the_cut_is_said(
    make_user: UserFactory, max_messages: int, max_pages: int, read: int
) -> None:
    reader, talker = await make_user("reader"), await make_user("talker")
    room = await _room(talker, reader)
    for i in range(130):
        await talker.send(room, f"message {i}")
    question = await reader.send(room, "!summary")
    history = RoomHistory(reader.client, max_messages=max_messages, max_pages=max_pages)

    span = await history.span(Where(room, question, reader.user_id, "@bot:localhost"), EVERYTHING)

    assert span.capped, "a span cut by a limit must say so"
    assert len(span.messages) <= read
    texts = [said.text for said in span.messages]
    assert texts == [f"message {i}" for i in range(130 - len(texts), 130)]  # the newest, in order
    if max_pages == 1:
        assert len(texts) >= 90, "one page of 100 events: the question and the newest messages"


async def test_the_whole_of_a_short_room_is_not_called_cut(make_user: UserFactory) -> None:
    reader, talker = await make_user("reader"), await make_user("talker")
    room = await _room(talker, reader)
    await talker.send(room, "just one thing")
    question = await reader.send(room, "!summary")
    span = await RoomHistory(reader.client, 2000, 100).span(
        Where(room, question, reader.user_id, "@bot:localhost"), EVERYTHING
    )
    assert [said.text for said in span.messages] == ["just one thing"] and not span.capped


async def test_an_edit_counts_only_from_its_author_and_the_bots_messages_are_left_out(
    make_user: UserFactory,
) -> None:
    anna, mallory, bot = await make_user("anna"), await make_user("mallory"), await make_user("helper")
    room = await _room(anna, mallory, bot)
    original = await anna.send(room, "we meet at six")
    await mallory.send(room, "* we meet at nine", **_edit(original, "we meet at nine"))  # not hers
    await anna.send(room, "* we meet at seven", **_edit(original, "we meet at seven"))
    await bot.send(room, "I am the bot, ignore me")
    question = await anna.send(room, "!summary")

    span = await RoomHistory(anna.client, 2000, 100).span(
        Where(room, question, anna.user_id, bot.user_id), EVERYTHING
    )

    assert [(said.sender, said.text) for said in span.messages] == [(anna.user_id, "we meet at seven")]

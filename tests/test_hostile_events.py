"""Events are other people's JSON: whatever an event holds, the bot's intake and the
portal's descriptions of it (chat, gallery, room list) skip it or describe it, and never
raise. Generated with Hypothesis, biased towards the keys and values the code reads."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nio import Event

from bot.events import MalformedEvent, parse_message
from bot.intake import Intake, RoomFacts
from bot.jobs import Job
from bot.values import BotIdentity
from portal.chat.events import describe
from portal.chat.rooms import RoomList
from portal.chat.views import directory_entry
from portal.gallery.items import gallery_item
from tests.json_strategies import json_like

BOT = BotIdentity("@bot:localhost", "bot")
KEYS = [
    "msgtype", "body", "m.relates_to", "rel_type", "event_id", "m.in_reply_to", "m.mentions",
    "user_ids", "room", "url", "file", "info", "mimetype", "size", "thumbnail_url", "w", "h",
    "key", "k", "iv", "hashes", "sha256", "filename", "format", "formatted_body", "m.new_content",
    "membership", "displayname", "name", "alias", "join_rule", "is_direct", "redacts", "prev_content",
    "transaction_id", "m.relations", "m.replace", "content", "sender", "m.heroes", "notification_count",
]  # fmt: skip
STRINGS = [
    "m.text", "m.image", "m.video", "m.notice", "m.replace", "m.thread", "@bot hi", "@bot:localhost",
    "@alice:localhost", "$event:localhost", "$ev", "!room:localhost", "mxc://localhost/abc",
    "mxc://../../x", "join", "leave", "org.matrix.custom.html", "<b>x</b>", "!help", "", "x",
]  # fmt: skip
json_values = json_like(STRINGS, KEYS, max_leaves=25)
contents = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
EVENT_TYPES = [
    "m.room.message",
    "m.room.member",
    "m.room.redaction",
    "m.room.encrypted",
    "m.reaction",
    "x.custom",
]


def _event(kind: str, content: Any, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "$generated",
        "sender": "@mallory:localhost",
        "origin_server_ts": int(time.time() * 1000),
        "content": content,
        "state_key": "@mallory:localhost",
        **extra,
    }


events = st.builds(
    _event,
    st.sampled_from(EVENT_TYPES),
    st.one_of(contents, json_values),
    st.dictionaries(st.sampled_from(["unsigned", "redacts", "state_key", "sender", "event_id"]), json_values),
)
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(events, st.booleans())
def test_the_bot_intake_returns_a_job_nothing_or_a_clear_malformed_error(
    source: dict[str, Any], is_direct: bool
) -> None:
    intake = Intake(BOT, catchup_window_s=600)
    try:
        job = intake.job_for(RoomFacts("!room:localhost", is_direct), source)
    except MalformedEvent:
        return
    assert job is None or isinstance(job, Job)
    if job is not None:
        assert Job.from_json(job.to_json()) == job  # what the ledger stores reads back


@FAST
@given(events)
def test_matrix_nio_parses_any_event_without_raising(source: dict[str, Any]) -> None:
    Event.parse_event(source)


@FAST
@given(events)
def test_the_portal_describes_any_event_or_skips_it(source: dict[str, Any]) -> None:
    described = describe(source, {"@mallory:localhost": "Mallory"})
    assert described is None or isinstance(described["type"], str)
    item = gallery_item(source, "@alice:localhost")
    assert item is None or item["full"].startswith("/media/")


@FAST
@given(st.dictionaries(st.sampled_from(["rooms", "account_data", "join", "invite", "leave"]), json_values))
def test_the_room_list_takes_any_sync_shape(sync: dict[str, Any]) -> None:
    rooms = RoomList("@alice:localhost", "@bot:localhost")
    rooms.apply(sync)
    rooms.summaries()


@FAST
@given(st.dictionaries(st.sampled_from(KEYS), json_values).map(lambda d: {"timeline": {"events": [d]}}))
def test_the_room_list_takes_any_event_in_a_joined_room(room: dict[str, Any]) -> None:
    rooms = RoomList("@alice:localhost", "@bot:localhost")
    rooms.apply({"rooms": {"join": {"!r:localhost": room}}})
    assert [s["id"] for s in rooms.summaries()] == ["!r:localhost"]


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["room_id", "name", "canonical_alias", "topic", "num_joined_members"]), json_values
    )
)
def test_directory_entries_have_the_types_the_page_expects(room: dict[str, Any]) -> None:
    entry = directory_entry(room)
    if entry is not None:
        assert isinstance(entry["name"], str) and isinstance(entry["members"], int)


@pytest.mark.parametrize(
    ("content", "outcome"),
    [
        ({"msgtype": "m.text", "body": "@bot hi"}, "message"),
        ({}, None),  # redacted
        ({"msgtype": "m.text", "body": "x", "m.relates_to": "x"}, MalformedEvent),
        ({"msgtype": "m.text", "body": 5}, MalformedEvent),
        ({"msgtype": "m.text", "body": "x", "m.mentions": {"user_ids": "@bot:localhost"}}, MalformedEvent),
        ({"msgtype": "m.text", "body": "x", "m.relates_to": {"m.in_reply_to": "$x"}}, MalformedEvent),
        ({"msgtype": "m.image", "body": "a.png"}, MalformedEvent),  # an image with no picture
        ({"msgtype": "m.image", "body": "a.png", "url": "mxc://s/i", "info": {"size": -1}}, MalformedEvent),
        ({"msgtype": "m.image", "body": "a", "file": {"url": "mxc://s/i"}}, MalformedEvent),
        (
            {"msgtype": "m.text", "body": "x", "m.relates_to": {"rel_type": "m.thread", "event_id": 5}},
            MalformedEvent,
        ),
    ],
)
def test_message_parsing(content: dict[str, Any], outcome: object) -> None:
    source = _event("m.room.message", content, {})
    if outcome is MalformedEvent:
        with pytest.raises(MalformedEvent):
            parse_message(source)
    elif outcome is None:
        assert parse_message(source) is None
    else:
        assert parse_message(source) is not None


def test_nul_characters_never_reach_the_database() -> None:
    message = parse_message(_event("m.room.message", {"msgtype": "m.text", "body": "@bot a\x00b"}, {}))
    assert message is not None and message.body == "@bot ab"


def test_a_message_of_another_type_is_no_message() -> None:
    assert parse_message(_event("m.reaction", {"m.relates_to": "x"}, {})) is None
    with pytest.raises(MalformedEvent):
        parse_message({"type": "m.room.message", "content": "not an object"})

"""A summary holds only what its asker could read: the walker against the spec's history
visibility rules (tables, and a forward-simulated oracle over generated histories), and the
edge parser against realistic Synapse JSON and against anything at all."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.summary.history_events import MAX_TEXT, UNKNOWN
from bot.summary.readable_history import (
    HistoryEvent,
    MembershipChange,
    Said,
    Unreadable,
    VisibilityChange,
    may_read,
    parse_decrypted,
    parse_history_event,
    readable_by,
)
from tests.json_strategies import json_like

ASKER = "@asker:localhost"
OTHER = "@other:localhost"
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- building histories: steps, oldest first, each state change given its true `before` ---

Step = tuple[str, ...]  # ("msg", id) | ("locked", id) | ("vis", value) | ("member", user, value)


def forward_history(steps: list[Step]) -> tuple[list[HistoryEvent], str, str]:
    """The events of `steps` (oldest first), and the room's visibility and the asker's
    membership at the end, as a server would report them."""
    events: list[HistoryEvent] = []
    visibility: str | None = None
    members: dict[str, str] = {}
    for ts, step in enumerate(steps):
        if step[0] == "msg":
            events.append(Said(step[1], OTHER, ts, f"text of {step[1]}"))
        elif step[0] == "locked":
            events.append(Unreadable(step[1], OTHER, ts))
        elif step[0] == "vis":
            events.append(VisibilityChange(step[1], visibility, ts))
            visibility = step[1]
        else:
            events.append(MembershipChange(step[1], step[2], members.get(step[1]), ts))
            members[step[1]] = step[2]
    return events, visibility or "shared", members.get(ASKER, "leave")


def readable_ids(steps: list[Step]) -> list[str]:
    events, visibility_now, membership_now = forward_history(steps)
    readable = readable_by(ASKER, reversed(events), visibility_now, membership_now)
    return [event.event_id for event in readable]


def vis(value: str) -> Step:
    return ("vis", value)


def member(value: str, user: str = ASKER) -> Step:
    return ("member", user, value)


def msg(event_id: str) -> Step:
    return ("msg", event_id)


# --- the walker, table-driven ---

WALKS = {
    "joined: the asker joined midway and sees only what came after": (
        [vis("joined"), member("join", OTHER), msg("a"), msg("b"), member("join"), msg("c"), msg("d")],
        ["d", "c"],
    ),
    "invited: the asker sees from the invite on": (
        [vis("invited"), msg("a"), member("invite"), msg("b"), member("join"), msg("c")],
        ["c", "b"],
    ),
    "invited: an invite under joined shows nothing before the join": (
        [vis("joined"), msg("a"), member("invite"), msg("b"), member("join"), msg("c")],
        ["c"],
    ),
    "shared: a member now sees everything, from before they were invited": (
        [vis("shared"), msg("a"), member("invite"), msg("b"), member("join"), msg("c")],
        ["c", "b", "a"],
    ),
    "shared: someone who left sees only what they were there for": (
        [vis("shared"), msg("a"), member("join"), msg("b"), member("leave"), msg("c")],
        ["b"],
    ),
    "shared is the default when no visibility was ever set": (
        [msg("a"), member("join"), msg("b")],
        ["b", "a"],
    ),
    "world_readable: anyone sees everything, never having joined": (
        [vis("world_readable"), msg("a"), member("join", OTHER), msg("b")],
        ["b", "a"],
    ),
    "a change to joined midway hides what came before it, but not what was shared": (
        [vis("shared"), msg("a"), vis("joined"), msg("b"), member("join"), msg("c")],
        ["c", "a"],
    ),
    "a change to world_readable midway opens only what came after it": (
        [vis("joined"), msg("a"), vis("world_readable"), msg("b"), member("join"), msg("c")],
        ["c", "b"],
    ),
    "left and rejoined under joined: the gap stays hidden": (
        [vis("joined"), member("join"), msg("a"), member("leave"), msg("gap"), member("join"), msg("c")],
        ["c", "a"],
    ),
    "kicked and banned: nothing after under joined": (
        [vis("joined"), member("join"), msg("a"), member("ban"), msg("b")],
        ["a"],
    ),
    "other people's membership changes are not the asker's": (
        [vis("joined"), member("join", OTHER), msg("a"), member("leave", OTHER), msg("b")],
        [],
    ),
    "an unknown visibility counts as joined": (
        [vis("org.example.open"), msg("a"), member("join"), msg("b")],
        ["b"],
    ),
    "an unreadable message is readable (as unreadable) by the same rules": (
        [vis("joined"), ("locked", "x"), member("join"), ("locked", "y")],
        ["y"],
    ),
}


@pytest.mark.parametrize(("steps", "expected"), WALKS.values(), ids=WALKS.keys())
def test_the_asker_reads_only_what_the_spec_allows(steps: list[Step], expected: list[str]) -> None:
    assert readable_ids(steps) == expected


@pytest.mark.parametrize(
    ("visibility", "membership_then", "joined_now", "allowed"),
    [
        ("world_readable", "leave", False, True),
        ("joined", "join", False, True),
        ("joined", "invite", True, False),
        ("invited", "invite", False, True),
        ("invited", "leave", True, False),
        ("shared", "leave", True, True),
        ("shared", "leave", False, False),
        ("shared", "invite", False, False),
        (UNKNOWN, "invite", True, False),
        ("World_Readable", "leave", True, False),
    ],
)
def test_may_read(visibility: str, membership_then: str, joined_now: bool, allowed: bool) -> None:
    assert may_read(visibility, membership_then, joined_now) is allowed


def test_the_walk_is_lazy_and_stops_when_the_caller_does() -> None:
    def history() -> Iterator[HistoryEvent]:
        yield Said("$newest", OTHER, 2, "hi")
        raise AssertionError("read past what the caller asked for")

    assert next(readable_by(ASKER, history(), "joined", "join")).event_id == "$newest"


def test_a_long_history_streams_through() -> None:
    endless = (Said(f"${n}", OTHER, -n, "x") for n in itertools.count())
    taken = list(itertools.islice(readable_by(ASKER, endless, "world_readable", "leave"), 100_000))
    assert len(taken) == 100_000


# --- the walker against an oracle: generated forward histories ---

MEMBERSHIPS = ["join", "leave", "invite", "ban", "knock"]
VISIBILITIES = ["world_readable", "shared", "invited", "joined", "org.example.custom"]


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    kinds = st.lists(st.sampled_from(["msg", "locked", "vis", "member"]), max_size=40)
    steps: list[Step] = []
    for n, kind in enumerate(draw(kinds)):
        if kind in ("msg", "locked"):
            steps.append((kind, f"${n}"))
        elif kind == "vis":
            steps.append(vis(draw(st.sampled_from(VISIBILITIES))))
        else:
            steps.append(member(draw(st.sampled_from(MEMBERSHIPS)), draw(st.sampled_from([ASKER, OTHER]))))
    return steps


def oracle(steps: list[Step]) -> list[str]:
    """Forward through time: each message judged by the state when it was sent, and by
    whether the asker is in the room at the end (the spec's algorithm, step by step)."""
    visibility, asker_membership = "shared", "leave"
    sent: list[tuple[str, str, str]] = []
    for step in steps:
        if step[0] == "vis":
            visibility = step[1]
        elif step[0] == "member" and step[1] == ASKER:
            asker_membership = step[2]
        elif step[0] in ("msg", "locked"):
            sent.append((step[1], visibility, asker_membership))
    member_now = asker_membership == "join"
    allowed = []
    for event_id, visibility_then, membership_then in sent:
        if visibility_then not in ("world_readable", "shared", "invited", "joined"):
            visibility_then = "joined"
        sees = {
            "world_readable": True,
            "shared": membership_then == "join" or member_now,
            "invited": membership_then in ("join", "invite"),
            "joined": membership_then == "join",
        }[visibility_then]
        if sees:
            allowed.append(event_id)
    return allowed[::-1]


@FAST
@given(histories())
def test_the_walk_back_agrees_with_a_forward_simulation(steps: list[Step]) -> None:
    assert readable_ids(steps) == oracle(steps)


# --- the edge parser: realistic Synapse JSON ---


def synapse_event(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": "$ev:localhost",
        "sender": "@alice:localhost",
        "origin_server_ts": 1_700_000_000_000,
        "room_id": "!room:localhost",
        "content": content,
        "unsigned": {"age": 1234},
        **extra,
    }


def said(text: str, **extra: Any) -> Said:
    return Said("$ev:localhost", "@alice:localhost", 1_700_000_000_000, text, **extra)


TS = 1_700_000_000_000
PARSED = {
    "text": (synapse_event("m.room.message", {"msgtype": "m.text", "body": "hello"}), said("hello")),
    "notice": (synapse_event("m.room.message", {"msgtype": "m.notice", "body": "n"}), said("n")),
    "emote": (synapse_event("m.room.message", {"msgtype": "m.emote", "body": "waves"}), said("waves")),
    "image": (
        synapse_event(
            "m.room.message",
            {"msgtype": "m.image", "body": "cat.png", "url": "mxc://localhost/a", "info": {"w": 5}},
        ),
        said("[image: cat.png]"),
    ),
    "file": (synapse_event("m.room.message", {"msgtype": "m.file", "body": "a.pdf"}), said("[file: a.pdf]")),
    "video": (
        synapse_event("m.room.message", {"msgtype": "m.video", "body": "v.mp4"}),
        said("[video: v.mp4]"),
    ),
    "audio": (
        synapse_event("m.room.message", {"msgtype": "m.audio", "body": "a.ogg"}),
        said("[audio: a.ogg]"),
    ),
    "thread": (
        synapse_event(
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "in a thread",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": "$root:localhost",
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": "$root:localhost"},
                },
            },
        ),
        said("in a thread", thread_root="$root:localhost"),
    ),
    "edit": (
        synapse_event(
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* fixed",
                "m.new_content": {"msgtype": "m.text", "body": "fixed"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig:localhost"},
            },
        ),
        said("fixed", replaces="$orig:localhost"),
    ),
    "a reply's quoted fallback is not its text": (
        synapse_event(
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "> <@bob:localhost> an older secret\n\nmy answer",
                "m.relates_to": {"m.in_reply_to": {"event_id": "$old:localhost"}},
            },
        ),
        said("my answer"),
    ),
    "encrypted": (
        synapse_event(
            "m.room.encrypted",
            {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEn...",
                "device_id": "DEV",
                "sender_key": "abc",
                "session_id": "sess",
            },
        ),
        Unreadable("$ev:localhost", "@alice:localhost", TS),
    ),
    "join after an invite": (
        synapse_event(
            "m.room.member",
            {"membership": "join", "displayname": "Asker"},
            state_key=ASKER,
            unsigned={"age": 5, "replaces_state": "$inv", "prev_content": {"membership": "invite"}},
        ),
        MembershipChange(ASKER, "join", "invite", TS),
    ),
    "a first join": (
        synapse_event("m.room.member", {"membership": "join"}, state_key=ASKER),
        MembershipChange(ASKER, "join", None, TS),
    ),
    "visibility change": (
        synapse_event(
            "m.room.history_visibility",
            {"history_visibility": "joined"},
            state_key="",
            unsigned={"age": 9, "prev_content": {"history_visibility": "shared"}, "prev_sender": "@a:l"},
        ),
        VisibilityChange("joined", "shared", TS),
    ),
    "the first visibility": (
        synapse_event("m.room.history_visibility", {"history_visibility": "invited"}, state_key=""),
        VisibilityChange("invited", None, TS),
    ),
    "a state value that is not a string is the strictest": (
        synapse_event(
            "m.room.history_visibility",
            {"history_visibility": ["world_readable"]},
            state_key="",
            unsigned={"prev_content": {"history_visibility": 7}},
        ),
        VisibilityChange(UNKNOWN, UNKNOWN, TS),
    ),
    "an earlier state with no value is the strictest, not the default": (
        synapse_event(
            "m.room.member", {"membership": "leave"}, state_key=ASKER, unsigned={"prev_content": {}}
        ),
        MembershipChange(ASKER, "leave", UNKNOWN, TS),
    ),
    "unsigned that is not an object says nothing trustworthy": (
        synapse_event("m.room.member", {"membership": "join"}, state_key=ASKER, unsigned=["x"]),
        MembershipChange(ASKER, "join", UNKNOWN, TS),
    ),
}


@pytest.mark.parametrize(("source", "expected"), PARSED.values(), ids=PARSED.keys())
def test_parses_synapse_events(source: dict[str, Any], expected: HistoryEvent) -> None:
    assert parse_history_event(source) == expected


REFUSED = {
    "a redacted message": synapse_event("m.room.message", {}),
    "a redacted encrypted message": synapse_event("m.room.encrypted", {}),
    "another type": synapse_event("m.reaction", {"m.relates_to": {"rel_type": "m.annotation"}}),
    "a kind with no text": synapse_event("m.room.message", {"msgtype": "m.location", "body": "x"}),
    "a body that is not text": synapse_event("m.room.message", {"msgtype": "m.text", "body": 5}),
    "a body that is a list": synapse_event("m.room.message", {"msgtype": "m.text", "body": ["a"]}),
    "a relation that is a list": synapse_event(
        "m.room.message", {"msgtype": "m.text", "body": "x", "m.relates_to": []}
    ),
    "a thread with no root": synapse_event(
        "m.room.message", {"msgtype": "m.text", "body": "x", "m.relates_to": {"rel_type": "m.thread"}}
    ),
    "an edit with no new content": synapse_event(
        "m.room.message",
        {"msgtype": "m.text", "body": "* x", "m.relates_to": {"rel_type": "m.replace", "event_id": "$o"}},
    ),
    "a timestamp as text": synapse_event("m.room.message", {"msgtype": "m.text", "body": "x"})
    | {"origin_server_ts": "1700000000000"},
    "a timestamp as a float": synapse_event("m.room.message", {"msgtype": "m.text", "body": "x"})
    | {"origin_server_ts": 1.5},
    "a timestamp as a boolean": synapse_event("m.room.message", {"msgtype": "m.text", "body": "x"})
    | {"origin_server_ts": True},
    "a timestamp beyond canonical JSON": synapse_event("m.room.message", {"msgtype": "m.text", "body": "x"})
    | {"origin_server_ts": 10**400},
    "content that is a list": synapse_event("m.room.message", [{"msgtype": "m.text", "body": "x"}]),
    "a visibility change sent as a timeline event": synapse_event(
        "m.room.history_visibility", {"history_visibility": "world_readable"}
    ),
    "a visibility with a state key": synapse_event(
        "m.room.history_visibility", {"history_visibility": "world_readable"}, state_key="x"
    ),
    "a membership sent as a timeline event": synapse_event("m.room.member", {"membership": "join"}),
    "a membership with a state key that is not text": synapse_event(
        "m.room.member", {"membership": "join"}, state_key=5
    ),
    "not an object": ["m.room.message"],
    "nothing": None,
}


@pytest.mark.parametrize("source", REFUSED.values(), ids=REFUSED.keys())
def test_refuses_what_is_malformed_or_irrelevant(source: object) -> None:
    assert parse_history_event(source) is None


def test_text_loses_its_nul_characters() -> None:
    source = synapse_event("m.room.message", {"msgtype": "m.text", "body": "a\x00b\x00"})
    assert parse_history_event(source) == said("ab")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("x" * MAX_TEXT, "x" * MAX_TEXT),
        ("x" * (MAX_TEXT + 1), "x" * (MAX_TEXT - 1) + "…"),
        ("x" * 5_000_000, "x" * (MAX_TEXT - 1) + "…"),
        ("\x00" * 10 + "x" * MAX_TEXT, "x" * MAX_TEXT),
    ],
    ids=["at the limit", "one over", "five million", "NULs do not count"],
)
def test_long_text_is_cut(body: str, expected: str) -> None:
    source = synapse_event("m.room.message", {"msgtype": "m.text", "body": body})
    assert parse_history_event(source) == said(expected)


def test_a_long_file_name_is_cut_too() -> None:
    parsed = parse_decrypted("$e", "@a:l", 1, {"msgtype": "m.file", "body": "n" * 9000})
    assert parsed is not None and len(parsed.text) == MAX_TEXT and parsed.text.endswith("…")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"msgtype": "m.text", "body": "secret"}, Said("$e", "@a:l", 1, "secret")),
        ({"msgtype": "m.image", "body": "p.jpg", "file": {}}, Said("$e", "@a:l", 1, "[image: p.jpg]")),
        ({}, None),
        ({"msgtype": "m.text"}, None),
        ("m.text", None),
        (None, None),
    ],
)
def test_parses_decrypted_content(content: object, expected: Said | None) -> None:
    assert parse_decrypted("$e", "@a:l", 1, content) == expected


# --- the edge parser: anything at all ---

KEYS = [
    "type", "event_id", "sender", "origin_server_ts", "content", "state_key", "unsigned", "prev_content",
    "msgtype", "body", "m.relates_to", "rel_type", "m.new_content", "m.in_reply_to", "membership",
    "history_visibility", "algorithm",
]  # fmt: skip
STRINGS = [
    "m.room.message", "m.room.encrypted", "m.room.member", "m.room.history_visibility", "m.text",
    "m.image", "m.emote", "m.thread", "m.replace", "join", "invite", "world_readable", "", "$e", "\x00",
]  # fmt: skip
json_values = json_like(STRINGS, KEYS, max_leaves=30)
EVENT_TYPES = ["m.room.message", "m.room.encrypted", "m.room.member", "m.room.history_visibility"]
event_shaped = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES)},
    optional={
        "event_id": st.one_of(st.just("$e"), json_values),
        "sender": st.one_of(st.just("@a:l"), json_values),
        "origin_server_ts": st.one_of(st.integers(), json_values),
        "state_key": st.one_of(st.sampled_from(["", ASKER]), json_values),
        "content": st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), json_values),
        "unsigned": st.one_of(st.fixed_dictionaries({"prev_content": json_values}), json_values),
    },
)
HISTORY_TYPES = (Said, Unreadable, MembershipChange, VisibilityChange)


@FAST
@given(st.one_of(json_values, event_shaped))
def test_any_json_parses_to_a_typed_value_or_nothing(source: object) -> None:
    parsed = parse_history_event(source)
    assert parsed is None or isinstance(parsed, HISTORY_TYPES)
    if isinstance(parsed, Said):
        assert "\x00" not in parsed.text and len(parsed.text) <= MAX_TEXT


@FAST
@given(st.one_of(json_values, st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)))
def test_any_decrypted_content_parses_to_a_message_or_nothing(content: object) -> None:
    parsed = parse_decrypted("$e", "@a:l", 1, content)
    assert parsed is None or isinstance(parsed, Said)

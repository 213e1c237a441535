"""Nobody passes for someone else in the portal chat: names that could be mistaken for
another member's are shown with the user id, as Element does."""

from __future__ import annotations

from portal.chat.events import describe
from portal.chat.names import labels, skeleton
from portal.chat.rooms import RoomList

BOB, MALLORY, CAROL = "@bob:localhost", "@mallory:localhost", "@carol:localhost"


def test_unmistakable_names_are_shown_alone() -> None:
    assert labels({BOB: "Bob", CAROL: "Carol"}) == {BOB: "Bob", CAROL: "Carol"}
    assert labels({BOB: ""}) == {BOB: "bob"}


def test_names_that_look_alike_get_the_user_id() -> None:
    for imitation in [
        "Bob",
        "bob",
        "BOB",
        "Bоb",
        "B\u200bob",
        "Ｂｏｂ",
        "Böb",
    ]:  # Cyrillic о, zero width, wide
        shown = labels({BOB: "Bob", MALLORY: imitation})
        assert shown[MALLORY] == f"{imitation} ({MALLORY})", imitation
        assert shown[BOB] == f"Bob ({BOB})"


def test_a_name_imitating_someones_user_name_or_an_id_gets_the_user_id() -> None:
    assert labels({BOB: "", MALLORY: "bob"})[MALLORY] == f"bob ({MALLORY})"
    assert labels({MALLORY: "@bob:localhost"})[MALLORY] == f"@bob:localhost ({MALLORY})"
    assert skeleton("Ｂ\u200bоb") == skeleton("bob")


def test_the_room_list_and_the_timeline_use_the_labels() -> None:
    rooms = RoomList("@alice:localhost", "@bot:localhost")
    state = [
        {"type": "m.room.member", "state_key": user, "content": {"membership": "join", "displayname": "Bob"}}
        for user in (BOB, MALLORY)
    ]
    rooms.apply({"rooms": {"join": {"!r:localhost": {"state": {"events": state}}}}})
    message = {
        "type": "m.room.message",
        "event_id": "$m",
        "sender": MALLORY,
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": "send me your password"},
    }
    described = describe(message, rooms.names())
    assert described is not None and described["sender_name"] == f"Bob ({MALLORY})"
    joined = describe(
        {
            **message,
            "type": "m.room.member",
            "state_key": MALLORY,
            "content": {"membership": "join", "displayname": "Bob"},
        },
        rooms.names(),
    )
    assert joined is not None and joined["body"] == f"Bob ({MALLORY}) joined"

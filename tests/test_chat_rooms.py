"""The portal chat's room list, fed with sync responses (pure, no server)."""

from __future__ import annotations

from portal.chat.rooms import RoomList

ME, BOT, BOB, CAROL = "@me:localhost", "@bot:localhost", "@bob:localhost", "@carol:localhost"


def state(kind: str, content: dict[str, object], key: str = "") -> dict[str, object]:
    return {"type": kind, "state_key": key, "content": content, "sender": ME}


def first_sync() -> dict[str, object]:
    return {
        "account_data": {"events": [{"type": "m.direct", "content": {BOT: ["!ai"], BOB: ["!dm"]}}]},
        "rooms": {
            "join": {
                "!public": {
                    "state": {
                        "events": [
                            state("m.room.name", {"name": "Public"}),
                            state("m.room.join_rules", {"join_rule": "public"}),
                        ]
                    },
                    "unread_notifications": {"notification_count": 3, "highlight_count": 1},
                },
                "!ai": {"summary": {"m.heroes": [BOT]}, "state": {"events": []}},
                "!dm": {
                    "summary": {"m.heroes": [BOB]},
                    "state": {
                        "events": [state("m.room.member", {"membership": "join", "displayname": "Bob"}, BOB)]
                    },
                },
                "!private": {
                    "state": {"events": [state("m.room.canonical_alias", {"alias": "#team:localhost"})]}
                },
            },
            "invite": {
                "!new": {
                    "invite_state": {
                        "events": [
                            {
                                "type": "m.room.member",
                                "state_key": ME,
                                "sender": BOB,
                                "content": {"membership": "invite", "is_direct": True},
                            }
                        ]
                    }
                }
            },
        },
    }


def test_rooms_get_names_kinds_and_unread_counts() -> None:
    rooms = RoomList(ME, BOT)
    changed, gone = rooms.apply(first_sync())
    assert changed == {"!public", "!ai", "!dm", "!private", "!new"} and gone == set()
    summary = {s["id"]: s for s in rooms.summaries()}
    assert (summary["!public"]["name"], summary["!public"]["kind"], summary["!public"]["unread"]) == (
        "Public",
        "public",
        3,
    )
    assert (summary["!ai"]["name"], summary["!ai"]["kind"]) == ("AI assistant", "ai")
    assert (summary["!dm"]["name"], summary["!dm"]["kind"]) == ("Bob", "direct")
    assert (summary["!private"]["name"], summary["!private"]["kind"]) == ("#team:localhost", "room")
    invite = summary["!new"]
    assert (invite["membership"], invite["inviter"], invite["kind"]) == ("invite", BOB, "direct")


def test_later_syncs_change_counts_typing_and_remove_left_rooms() -> None:
    rooms = RoomList(ME, BOT)
    rooms.apply(first_sync())
    changed, gone = rooms.apply(
        {
            "rooms": {
                "join": {
                    "!public": {"unread_notifications": {"notification_count": 0}},
                    "!dm": {
                        "ephemeral": {
                            "events": [{"type": "m.typing", "content": {"user_ids": [BOB, ME, CAROL]}}]
                        }
                    },
                },
                "leave": {"!private": {}},
            }
        }
    )
    assert changed == {"!public", "!dm"} and gone == {"!private"}
    assert rooms.summary("!public")["unread"] == 0
    # Never yourself; someone whose member event was not loaded (lazy loading): the short name.
    assert rooms.typing_names("!dm") == ["Bob", "carol"]
    assert "!private" not in {s["id"] for s in rooms.summaries()}


def _joined(room_id: str, *events: dict[str, object]) -> dict[str, object]:
    return {"rooms": {"join": {room_id: {"timeline": {"events": list(events)}}}}}


def test_the_rooms_assistant_persona_is_shown_shortened_and_cleared_by_a_reset() -> None:
    rooms = RoomList(ME, BOT)
    persona = "local.assistant.persona"
    rooms.apply(_joined("!club", state(persona, {"prompt": "  You are the club's\nquizmaster.  "})))
    assert rooms.summary("!club")["persona"] == "You are the club's quizmaster."

    rooms.apply(_joined("!club", state(persona, {"prompt": "x"}, key="not-the-room's")))
    assert rooms.summary("!club")["persona"] == "You are the club's quizmaster.", "another key replaced it"

    rooms.apply(_joined("!club", state(persona, {"prompt": "long " * 100})))
    shown = rooms.summary("!club")["persona"]
    assert len(shown) == 200 and shown.endswith("…")

    for reset in ({}, {"prompt": ""}, {"prompt": ["not", "text"]}):
        rooms.apply(_joined("!club", state(persona, {"prompt": "set again"})))
        rooms.apply(_joined("!club", state(persona, reset)))
        assert rooms.summary("!club")["persona"] is None, reset

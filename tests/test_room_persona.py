"""A room's persona read from its state event (pure): who set it is the sender the
homeserver vouches for, or the person the assistant names when it wrote the event; a
reset, another state key or a malformed event is no persona."""

from __future__ import annotations

from typing import Any

import pytest

from common.room_persona import PERSONA_EVENT_TYPE, Persona, persona_from_event

BOT, MOD, ANNA = "@bot:localhost", "@mod:localhost", "@anna:localhost"


def event(content: Any, sender: Any = MOD, state_key: Any = "") -> dict[str, Any]:
    return {"type": PERSONA_EVENT_TYPE, "state_key": state_key, "sender": sender, "content": content}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (event({"prompt": "You are a pirate.", "set_by": MOD}), Persona("You are a pirate.", MOD)),
        (event({"prompt": "  Be brief.\n"}), Persona("Be brief.", MOD)),
        (event({"prompt": "Be brief.", "set_by": ANNA}, sender=BOT), Persona("Be brief.", ANNA)),
        (event({"prompt": "Be brief.", "set_by": "not an id"}, sender=BOT), Persona("Be brief.", None)),
        (event({"prompt": "Be brief.", "set_by": ANNA}, sender=MOD), Persona("Be brief.", MOD)),  # a claim
        (event({"prompt": "Be brief."}, sender=None), Persona("Be brief.", None)),
        (event({}), None),  # reset
        (event({"prompt": "   "}), None),
        (event({"prompt": 42}), None),
        (event(["prompt"]), None),
        (event({"prompt": "Be brief."}, state_key="other"), None),
        (None, None),
        ("not an event", None),
    ],
)
def test_persona_from_event(given: Any, expected: Persona | None) -> None:
    assert persona_from_event(given, BOT) == expected

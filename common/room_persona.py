"""A room's assistant persona: the room state event `local.assistant.persona`, whose
content is `{"prompt": "...", "set_by": "@user:server"}`. Its grammar lives here, for
every component that reads it (the portal's pages and chat). Pure: it reads the whole
state event's JSON, as the homeserver returned it, and trusts none of its fields' types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.matrix_ids import is_user_id

PERSONA_EVENT_TYPE = "local.assistant.persona"


@dataclass(frozen=True)
class Persona:
    prompt: str
    set_by: str | None  # who chose it, when that is known


def persona_from_event(event: Mapping[str, Any] | None, bot_user_id: str) -> Persona | None:
    """The persona an event sets; None for none, a reset (no prompt) or a malformed event.

    Who set it: the event's sender, as the homeserver vouches for it. When the assistant
    itself wrote the event (for a moderator's `!persona`), the person its `set_by` names;
    a `set_by` written by anyone else is only their claim, so it is not shown as fact."""
    if not isinstance(event, Mapping) or event.get("state_key", "") != "":
        return None
    content = event.get("content")
    prompt = content.get("prompt") if isinstance(content, Mapping) else None
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    sender = event.get("sender")
    named = content.get("set_by") if isinstance(content, Mapping) else None
    set_by = named if sender == bot_user_id else sender
    return Persona(prompt.strip(), set_by if is_user_id(set_by) else None)

"""Build the Matrix event content the bot sends."""

from __future__ import annotations

from typing import Any


def reply_content(text: str, in_reply_to: str, asker: str, *, notice: bool = False) -> dict[str, Any]:
    """A reply (`m.in_reply_to`) that mentions the asker, so their client notifies them."""
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "m.relates_to": {"m.in_reply_to": {"event_id": in_reply_to}},
        "m.mentions": {"user_ids": [asker]},
    }

"""The bot's value types: who the bot is, where an answer goes, an image to fetch, and
the transaction ids that make sends idempotent. Plain data with no I/O and no nio, so
every other module (stores included) can use them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.formatting import message_content


def txn_id(*parts: str) -> str:
    """A transaction id derived from what is being sent, so a retry after a crash or a
    lost response reuses it and Synapse stores the message only once."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    display_name: str

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1] if ":" in self.user_id else ""


@dataclass(frozen=True)
class EncryptedFile:
    """An attachment in an encrypted room: where it is and how to decrypt it."""

    url: str
    key: str  # the JWK's `k`
    sha256: str
    iv: str


@dataclass(frozen=True)
class MediaRef:
    """An image to fetch: a plain `url`, or an encrypted `file` (e2e rooms). `size` is
    what the sender claimed, if anything; the download enforces its own limit."""

    mimetype: str
    url: str | None = None
    file: EncryptedFile | None = None
    size: int | None = None

    @property
    def mxc(self) -> str:
        return self.file.url if self.file else str(self.url)


@dataclass(frozen=True)
class ReplyTarget:
    """Where an answer goes: a reply to `event_id`, inside `thread_root` if there is one."""

    room_id: str
    event_id: str
    asker: str
    thread_root: str | None = None

    def relation(self) -> dict[str, Any]:
        if self.thread_root:
            return {
                "rel_type": "m.thread",
                "event_id": self.thread_root,
                "is_falling_back": False,
                "m.in_reply_to": {"event_id": self.event_id},
            }
        return {"m.in_reply_to": {"event_id": self.event_id}}

    def reply(self, text: str, *, notice: bool = False) -> dict[str, Any]:
        content = message_content(text, notice=notice)
        content["m.relates_to"] = self.relation()
        content["m.mentions"] = {"user_ids": [self.asker]}
        return content

"""Show an answer while the model writes it: post the first words at once, then edit
the message in place (`m.replace`), at most about once a second and a capped number of
times, with a last edit that always holds the complete answer."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.formatting import MAX_CONTENT_BYTES, content_size
from bot.values import ReplyTarget, txn_id


@dataclass
class EditThrottle:
    """Pure pacing decision: may the next intermediate edit go out now?"""

    min_interval: float = 1.0
    max_edits: int = 20
    edits: int = 0
    last_sent_at: float = field(default=float("-inf"))

    def due(self, now: float) -> bool:
        return self.edits < self.max_edits and now - self.last_sent_at >= self.min_interval

    def record(self, now: float) -> None:
        self.edits += 1
        self.last_sent_at = now


class Sender(Protocol):
    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str: ...


FALLBACK_CHARS = 500


def edit_content(original_event_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """An `m.replace` edit; clients that don't know edits show the `* ` fallback: the
    whole new text when the edit fits in one event twice over, else its beginning."""
    replacement = {key: value for key, value in new.items() if key != "m.relates_to"}
    edit: dict[str, Any] = {
        "msgtype": new["msgtype"],
        "body": f"* {new['body']}",
        "m.new_content": replacement,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
        "m.mentions": {},
    }
    if "formatted_body" in new:
        edit |= {"format": new["format"], "formatted_body": new["formatted_body"]}
    if content_size(edit) > MAX_CONTENT_BYTES:
        body = new["body"]
        short = body if len(body) <= FALLBACK_CHARS else body[:FALLBACK_CHARS] + "…"
        edit = {key: value for key, value in edit.items() if key not in {"format", "formatted_body"}}
        edit["body"] = f"* {short}"
    return edit


class StreamingReply:
    def __init__(
        self,
        sender: Sender,
        target: ReplyTarget,
        throttle: EditThrottle,
        clock: Callable[[], float] = time.monotonic,
        *,
        resumed: bool = False,
    ) -> None:
        # `resumed`: an earlier run may have posted this reply with other words (the same
        # transaction id then returns that old message), so the final edit always goes out.
        self._resumed = resumed
        self._sender = sender
        self._target = target
        self._throttle = throttle
        self._clock = clock
        self.event_id: str | None = None
        self.shown = ""

    @property
    def edits_sent(self) -> int:
        return self._throttle.edits

    async def update(self, visible_text: str) -> None:
        """Called with the whole visible answer so far, each time it grows."""
        if not visible_text or visible_text == self.shown:
            return
        now = self._clock()
        if self.event_id is None:
            self.event_id = await self._sender.send(
                self._target.room_id, self._target.reply(visible_text), self._txn("answer")
            )
            self.shown = visible_text
            self._throttle.last_sent_at = now
        elif self._throttle.due(now):
            await self._edit(visible_text, self._txn("edit", str(self._throttle.edits)))
            self._throttle.record(now)

    async def finish(self, final_text: str, *, notice: bool = False) -> str:
        """Make sure the message shows `final_text`; returns the answer's event id."""
        if self.event_id is None:
            self.event_id = await self._sender.send(
                self._target.room_id, self._target.reply(final_text, notice=notice), self._txn("answer")
            )
            self.shown = final_text
        elif final_text != self.shown or self._resumed:
            # The text is part of the id: a resumed answer that came out differently is
            # shown, while the same final text sent twice is stored once.
            await self._edit(final_text, self._txn("final", _digest(final_text)))
        return self.event_id

    def _txn(self, *parts: str) -> str:
        return txn_id(*parts, self._target.event_id)

    async def _edit(self, text: str, txn: str) -> None:
        assert self.event_id is not None
        new = self._target.reply(text)
        await self._sender.send(self._target.room_id, edit_content(self.event_id, new), txn)
        self.shown = text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]

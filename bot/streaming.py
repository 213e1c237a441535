"""Show an answer while the model writes it: post the first words at once, then edit
the message in place (`m.replace`), at most about once a second and a capped number of
times, with a last edit that always holds the complete answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.formatting import MAX_CONTENT_BYTES, content_size
from bot.values import ReplyTarget, txn_id

log = logging.getLogger(__name__)


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
RENDER_IN_THREAD_CHARS = 4096  # shorter answers render in well under a millisecond


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
    """The answer's one message. Its first text is held until the answer is complete or
    the first edit interval has passed since the first words, so an answer the model
    writes within that interval costs the homeserver one write; a longer one is posted
    then and edited in place about once per interval, and always ends complete."""

    def __init__(
        self,
        sender: Sender,
        target: ReplyTarget,
        throttle: EditThrottle,
        clock: Callable[[], float] = time.monotonic,
        *,
        resumed: bool = False,
        rewrite: tuple[str, str] | None = None,
    ) -> None:
        # `resumed`: an earlier run may have posted this reply with other words (the same
        # transaction id then returns that old message), so the final edit always goes out.
        # `rewrite`: (an answer's message, the reaction that asked for it): write into
        # that message with edits of their own (its edit history keeps the earlier text).
        self._resumed = resumed or rewrite is not None
        self._salt = rewrite[1] if rewrite else ""
        self._sender = sender
        self._target = target
        self._throttle = throttle
        self._clock = clock
        self._first_words_at: float | None = None
        self._status: asyncio.Future[None] | None = None
        self.event_id: str | None = rewrite[0] if rewrite else None
        self.shown = ""

    @property
    def edits_sent(self) -> int:
        return self._throttle.edits

    async def show_status(self, text: str) -> None:
        """Say at once what is going on (the model is loading, say); the answer replaces it.
        Best effort: a failure is logged. Cancelling the caller does not cancel a send
        under way, and the answer waits for it, so the notice never becomes a second message."""
        self._status = asyncio.ensure_future(self._put_status(text))
        await asyncio.shield(self._status)

    async def _put_status(self, text: str) -> None:
        try:
            await self._send_status(text)
        except Exception as error:  # a status is worth a log line, not the answer
            log.warning("could not show %r for %s: %s", text, self._target.event_id, error)

    async def _status_settled(self) -> None:
        if self._status is not None and not self._status.done():
            await asyncio.shield(self._status)

    async def _send_status(self, text: str) -> None:
        if self.event_id is None:
            self.event_id = await self._sender.send(
                self._target.room_id, self._target.reply(text, notice=True), self._txn("status")
            )
            self.shown = text
        elif text != self.shown:
            await self._edit(text, self._txn("status", _digest(text)), notice=True)

    async def update(self, visible_text: str) -> None:
        """Called with the whole visible answer so far, each time it grows."""
        if not visible_text or visible_text == self.shown:
            return
        await self._status_settled()
        now = self._clock()
        if self._first_words_at is None:
            self._first_words_at = now
            self._throttle.last_sent_at = now  # the first interval counts from the first words
        if not self._throttle.due(now):
            return
        if self.event_id is None:
            self.event_id = await self._sender.send(
                self._target.room_id, await self._content(visible_text), self._txn("answer")
            )
            self.shown = visible_text
            self._throttle.last_sent_at = now
        else:
            await self._edit(visible_text, self._txn("edit", str(self._throttle.edits)))
            self._throttle.record(now)

    async def finish(self, final_text: str, *, notice: bool = False) -> str:
        """Make sure the message shows `final_text`; returns the answer's event id."""
        await self._status_settled()
        if self.event_id is None:
            self.event_id = await self._sender.send(
                self._target.room_id, await self._content(final_text, notice), self._txn("answer")
            )
            self.shown = final_text
            if not self._resumed:
                return self.event_id
        if final_text != self.shown or self._resumed:
            # The text is part of the id: a resumed answer that came out differently is
            # shown, while the same final text sent twice is stored once.
            await self._edit(final_text, self._txn("final", _digest(final_text)), notice=notice)
        return self.event_id

    async def _content(self, text: str, notice: bool = False) -> dict[str, Any]:
        """The message for `text`; a long one is rendered off the event loop (hostile
        Markdown near the size limit takes a few hundred milliseconds to render)."""
        if len(text) < RENDER_IN_THREAD_CHARS:
            return self._target.reply(text, notice=notice)
        return await asyncio.to_thread(self._target.reply, text, notice=notice)

    def _txn(self, *parts: str) -> str:
        return txn_id(*parts, self._target.event_id, *((self._salt,) if self._salt else ()))

    async def _edit(self, text: str, txn: str, *, notice: bool = False) -> None:
        assert self.event_id is not None
        new = await self._content(text, notice)
        await self._sender.send(self._target.room_id, edit_content(self.event_id, new), txn)
        self.shown = text


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]

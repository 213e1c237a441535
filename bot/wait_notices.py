"""What a person sees while their answer has not started: their place in the queue when
the wait is long ("2 questions ahead of yours", updated in place), and a plain word when
the model is still loading. Both are the answer's own message, which the answer then
replaces (StreamingReply.show_status), and the typing notice only once the answer starts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from bot import strings
from bot.fair_queue import Ticket
from bot.streaming import StreamingReply

PLACE_AFTER_S = 3.0  # a wait shorter than this is not worth a message
PLACE_EVERY_S = 2.0
TYPING_AFTER_S = 0.3  # no words yet after this long: show that the assistant is writing
TYPING_REFRESH_S = 20.0
LOADING_CHECK_AFTER_S = 5.0


def place_text(ahead: int) -> str:
    if ahead <= 0:
        return strings.QUEUE_NEXT
    return strings.QUEUE_PLACE.format(ahead=ahead, questions="question" if ahead == 1 else "questions")


async def show_place(reply: StreamingReply, ticket: Ticket) -> None:
    """Run while the ticket waits: after a few seconds, its place, kept up to date."""
    await asyncio.sleep(PLACE_AFTER_S)
    shown: int | None = None
    while True:
        if ticket.ahead != shown:
            shown = ticket.ahead
            await reply.show_status(place_text(shown))
        await asyncio.sleep(PLACE_EVERY_S)


async def say_if_loading(reply: StreamingReply, model: str, is_loaded: Callable[[], Awaitable[bool]]) -> None:
    """Run until the first words: if they are slow because the model is still loading
    into memory, say so instead of leaving the person guessing."""
    await asyncio.sleep(LOADING_CHECK_AFTER_S)
    if not await is_loaded():
        await reply.show_status(strings.MODEL_LOADING.format(model=model))


@contextlib.asynccontextmanager
async def typing_until_words(
    set_typing: Callable[[bool], Awaitable[None]], words_ready: asyncio.Event
) -> AsyncIterator[None]:
    """The typing notice, only when the model has written no words after TYPING_AFTER_S,
    and only until it has: an answer that starts quickly costs no typing notices at all."""

    async def keep_typing() -> None:
        try:
            await asyncio.wait_for(words_ready.wait(), TYPING_AFTER_S)
            return
        except TimeoutError:
            pass
        try:
            while not words_ready.is_set():
                with contextlib.suppress(Exception):
                    await set_typing(True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(words_ready.wait(), TYPING_REFRESH_S)
        finally:
            with contextlib.suppress(Exception):
                await set_typing(False)

    typing = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        words_ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await typing

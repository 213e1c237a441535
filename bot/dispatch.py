"""Carry out jobs: answers, commands and notices, each marked done when finished.

A job is never abandoned because of a passing failure (the homeserver down, or the
client not knowing the room yet after a restart): it is tried again with backoff until
it succeeds or the catch-up window is over, and then the person gets a notice. Only a
refusal by the homeserver (a 4xx: the bot was removed from the room, say) ends it early."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot import strings
from bot.answering import Answerer
from bot.commands import CommandRunner
from bot.events import parse_media
from bot.jobs import Job
from bot.knowledge.indexer import Indexer
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO
from bot.ollama_chat import ModelUnavailable
from bot.reactions import Reactions
from bot.reminders.setter import ReminderSetter
from bot.routing import Action
from bot.summary.summarizer import Summarizer
from bot.values import MediaRef

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class Dispatcher:
    def __init__(
        self,
        answerer: Answerer,
        summarizer: Summarizer,
        commands: CommandRunner,
        matrix: MatrixIO,
        ledger: EventLedger,
        bot_localpart: str,
        rate_description: str,
        catchup_window_s: int,
        indexer: Indexer | None = None,
        reactions: Reactions | None = None,
        reminders: ReminderSetter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._answerer = answerer
        self._summarizer = summarizer
        self._commands = commands
        self._matrix = matrix
        self._ledger = ledger
        self._bot = bot_localpart
        self._rate = rate_description
        self._window_s = catchup_window_s
        self._clock = clock
        self._indexer = indexer
        self._reactions = reactions
        self._reminders = reminders

    async def run(self, job: Job, *, resumed: bool = False) -> None:
        deadline = job.received_ms / 1000 + self._window_s
        attempt = 0
        while True:
            try:
                await self._act(job, resumed=resumed or attempt > 0)
                break
            except ModelUnavailable:
                await self._notice_quietly(job, strings.AI_UNAVAILABLE, "unavailable")
                break
            except MatrixActionFailed as error:
                delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S) - 1)]
                if error.permanent:
                    log.warning("giving up on %s: %s", job.event_id, error)
                    break
                if self._clock() + delay > deadline:
                    log.warning("giving up on %s after %d tries: %s", job.event_id, attempt + 1, error)
                    await self._notice_quietly(job, strings.DELIVERY_FAILED, "undelivered")
                    break
                log.info("will retry %s in %.0f s: %s", job.event_id, delay, error)
                await asyncio.sleep(delay)
                attempt += 1
            except asyncio.CancelledError:
                raise  # shutting down: the job stays pending and is resumed at the next start
            except Exception:  # a case nobody thought of: say so once, never replay it
                log.exception("answering %s failed", job.event_id)
                await self._notice_quietly(job, strings.SOMETHING_WENT_WRONG, "failed")
                break
        await self._ledger.complete(job.event_id)

    async def _act(self, job: Job, *, resumed: bool) -> None:
        if job.action is Action.ANSWER:
            image = job.media or await self._replied_image(job)
            await self._answerer.answer(job.target, job.question, image, resumed=resumed)
        elif job.action is Action.SUMMARIZE:
            await self._summarizer.summarize(job.target, job.question, job.received_ms, resumed=resumed)
        elif job.action is Action.INDEX and job.media is not None and self._indexer:
            await self._indexer.index(job.target, job.question, job.media, job.received_ms)
        elif job.action is Action.REACT and job.about and self._reactions:
            await self._reactions.react(job.target, job.question, job.about)
        elif job.action is Action.REMIND and self._reminders:
            await self._reminders.set(job.target, job.question, job.received_ms)
        elif job.action is Action.UNINDEX and self._indexer:
            await self._indexer.forget(job.target.room_id, job.question)
        elif job.action is Action.COMMAND and job.command is not None:
            text = await self._commands.run(job.command, job.target.asker, job.target.room_id)
            await self._notice(job, text, "command")
        elif job.action is Action.PROMPT_FOR_QUESTION:
            await self._notice(job, strings.EMPTY_QUESTION.format(bot=self._bot), "prompt")
        elif job.action is Action.RATE_LIMITED:
            await self._notice(job, strings.RATE_LIMITED.format(rate=self._rate), "rate")

    async def _replied_image(self, job: Job) -> MediaRef | None:
        if job.reply_to_image is None:
            return None
        parent = await self._matrix.event(job.target.room_id, job.reply_to_image)
        return parse_media(parent.get("content")) if parent else None

    async def _notice(self, job: Job, text: str, kind: str) -> None:
        await self._matrix.notice(job.target, text, kind)

    async def _notice_quietly(self, job: Job, text: str, kind: str) -> None:
        with contextlib.suppress(MatrixActionFailed):
            await self._notice(job, text, kind)

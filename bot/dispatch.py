"""Carry out jobs: answers, commands and notices, each marked done when finished."""

from __future__ import annotations

import logging

from bot import strings
from bot.answering import Answerer
from bot.assistant import ModelUnavailable
from bot.commands import CommandRunner, parse_command
from bot.jobs import Job
from bot.ledger import EventLedger
from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaRef, txn_id
from bot.routing import Action

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        answerer: Answerer,
        commands: CommandRunner,
        matrix: MatrixIO,
        ledger: EventLedger,
        bot_localpart: str,
        rate_description: str,
    ) -> None:
        self._answerer = answerer
        self._commands = commands
        self._matrix = matrix
        self._ledger = ledger
        self._bot = bot_localpart
        self._rate = rate_description

    async def run(self, job: Job) -> None:
        try:
            await self._act(job)
        except ModelUnavailable:
            await self._notice(job, strings.AI_UNAVAILABLE, "unavailable")
        except MatrixActionFailed as error:
            log.warning("giving up on %s: %s", job.event_id, error)
        await self._ledger.complete(job.event_id)

    async def _act(self, job: Job) -> None:
        if job.action is Action.ANSWER:
            image = job.media or await self._replied_image(job)
            await self._answerer.answer(job.target, job.question, image)
        elif job.action is Action.COMMAND:
            command = parse_command(job.question)
            assert command is not None
            text = await self._commands.run(command, job.target.asker, job.target.room_id)
            await self._notice(job, text, "command")
        elif job.action is Action.PROMPT_FOR_QUESTION:
            await self._notice(job, strings.EMPTY_QUESTION.format(bot=self._bot), "prompt")
        elif job.action is Action.RATE_LIMITED:
            await self._notice(job, strings.RATE_LIMITED.format(rate=self._rate), "rate")

    async def _replied_image(self, job: Job) -> MediaRef | None:
        if job.reply_to_image is None:
            return None
        parent = await self._matrix.event(job.target.room_id, job.reply_to_image)
        if parent and parent.get("content", {}).get("msgtype") == "m.image":
            return MediaRef.from_content(parent["content"])
        return None

    async def _notice(self, job: Job, text: str, kind: str) -> None:
        await self._matrix.send(
            job.target.room_id, job.target.reply(text, notice=True), txn_id(kind, job.event_id)
        )

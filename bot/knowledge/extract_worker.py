"""Files posted in a room are read outside the bot's event loop: `extract` runs in a worker
process (`common.limited_pool`) at low priority, under a memory limit and a time limit. A
bomb, a parser bug or a crash costs that one file a refusal in words for the room; the bot
goes on answering everyone else, and the next file gets a fresh worker if it needs one."""

from __future__ import annotations

import logging

from bot.knowledge.extract import (
    TOO_SLOW,
    UNSAFE,
    Extracted,
    ExtractLimits,
    FileRefused,
    document_kind,
    extract,
    shown_name,
)
from common.limited_pool import LimitedPool, WorkerFailed, WorkerTimedOut

log = logging.getLogger(__name__)


def _extract_in_worker(data: bytes, name: str, mimetype: str, limits: ExtractLimits) -> Extracted:
    """In the worker: pypdf's warnings about a malformed file are not the bot's log."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    return extract(data, name, mimetype, limits)


class Extractor:
    def __init__(self, timeout_s: float = 60.0, memory_mb: int = 512, workers: int = 1) -> None:
        self._timeout_s = timeout_s
        self._pool = LimitedPool(workers, memory_mb)

    async def extract(self, data: bytes, name: str, mimetype: str, limits: ExtractLimits) -> Extracted:
        """The file's text in sections, or FileRefused with a reason for the room."""
        args = (data, name, mimetype, limits)
        try:
            return await self._pool.run(_extract_in_worker, args, self._timeout_s)
        except WorkerTimedOut:
            log.warning(
                "reading a %s file of %d bytes ran past %.0f s; its worker was stopped",
                document_kind(name, mimetype),
                len(data),
                self._timeout_s,
            )
            raise FileRefused(TOO_SLOW.format(name=shown_name(name))) from None
        except WorkerFailed as error:
            log.warning(
                "reading a %s file of %d bytes failed in its worker: %s",
                document_kind(name, mimetype),
                len(data),
                error,
            )
            raise FileRefused(UNSAFE.format(name=shown_name(name))) from None

    def close(self) -> None:
        self._pool.close()

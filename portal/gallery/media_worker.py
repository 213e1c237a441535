"""Hostile media are decoded outside the portal: in a worker process (`common.limited_pool`:
pebble's ProcessPool, started with `spawn`) that runs at low priority under a memory limit,
and is killed and replaced when a check runs past its time limit. A bomb, a decoder bug or a
crash costs that one upload a clear refusal; the portal goes on serving everyone else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from common.limited_pool import LimitedPool, WorkerFailed, WorkerTimedOut
from portal.app_keys import SETTINGS
from portal.gallery.media_checks import CheckedImage, CheckedVideo, UploadRefused, check_upload

log = logging.getLogger(__name__)


class MediaChecker:
    def __init__(
        self,
        workers: int,
        timeout_s: float,
        memory_mb: int,
        check: Callable[[Path], CheckedImage | CheckedVideo] = check_upload,
    ) -> None:
        self._check = check  # a module-level function: it runs in the worker process
        self._timeout_s = timeout_s
        self._pool = LimitedPool(workers, memory_mb)

    async def check(self, path: Path) -> CheckedImage | CheckedVideo:
        """The checked upload, or UploadRefused with a reason a person can act on."""
        try:
            return await self._pool.run(self._check, (path,), self._timeout_s)
        except WorkerTimedOut:
            log.warning(
                "media check of %s ran past %.0f s; its worker was stopped", path.name, self._timeout_s
            )
            raise UploadRefused("That file took too long to check, so it was not shared.") from None
        except WorkerFailed as error:
            log.warning("media check of %s failed in its worker: %s", path.name, error)
            raise UploadRefused("That file could not be checked safely, so it was not shared.") from None

    def close(self) -> None:
        self._pool.close()


MEDIA_CHECKER = web.AppKey("media_checker", MediaChecker)


async def checker_pool(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[MEDIA_CHECKER] = MediaChecker(1, settings.media_check_timeout_s, settings.media_check_memory_mb)
    yield
    await asyncio.to_thread(app[MEDIA_CHECKER].close)

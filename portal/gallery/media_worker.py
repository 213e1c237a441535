"""Hostile media are decoded outside the portal: in a worker process (pebble's
ProcessPool, started with `spawn`) that runs at low priority under a memory limit, and
is killed and replaced when a check runs past its time limit. A bomb, a decoder bug or a
crash costs that one upload a clear refusal; the portal goes on serving everyone else."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
from collections.abc import AsyncIterator, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from aiohttp import web
from pebble import ProcessExpired, ProcessPool

from portal.app_keys import SETTINGS
from portal.gallery.media_checks import CheckedImage, CheckedVideo, UploadRefused, check_upload

log = logging.getLogger(__name__)

TASKS_PER_WORKER = 50  # a fresh worker after this many checks: nothing piles up


def _limit_worker(memory_bytes: int) -> None:
    """In the worker, before any check: a cap on its memory, and a low priority."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    os.nice(10)


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
        self._pool = ProcessPool(
            max_workers=workers,
            max_tasks=TASKS_PER_WORKER,
            initializer=_limit_worker,
            initargs=(memory_mb * 1024 * 1024,),
            context=multiprocessing.get_context("spawn"),
        )

    async def check(self, path: Path) -> CheckedImage | CheckedVideo:
        """The checked upload, or UploadRefused with a reason a person can act on."""
        future = self._pool.schedule(self._check, args=(path,), timeout=self._timeout_s)
        try:
            return await asyncio.wrap_future(future)
        except UploadRefused:
            raise
        except FutureTimeout:
            log.warning(
                "media check of %s ran past %.0f s; its worker was stopped", path.name, self._timeout_s
            )
            raise UploadRefused("That file took too long to check, so it was not shared.") from None
        except (ProcessExpired, MemoryError) as error:
            log.warning("media check of %s failed in its worker: %r", path.name, error)
            raise UploadRefused("That file could not be checked safely, so it was not shared.") from None
        except asyncio.CancelledError:
            future.cancel()  # the uploader went away: stop the work too
            raise

    def close(self) -> None:
        self._pool.stop()
        self._pool.join(timeout=5)


MEDIA_CHECKER = web.AppKey("media_checker", MediaChecker)


async def checker_pool(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[MEDIA_CHECKER] = MediaChecker(1, settings.media_check_timeout_s, settings.media_check_memory_mb)
    yield
    await asyncio.to_thread(app[MEDIA_CHECKER].close)

"""Untrusted files are taken apart outside the event loop: in worker processes (pebble's
ProcessPool, started with `spawn`) that run at low priority under a memory limit, each
task under a time limit past which its worker is killed and replaced. A task that runs too
long or takes its worker down raises `WorkerTimedOut` or `WorkerFailed` here; the caller
turns them into its own refusal (the portal's media checks, the bot's file reading)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")

TASKS_PER_WORKER = 50  # a fresh worker after this many tasks: nothing piles up
NICENESS = 10


class WorkerTimedOut(Exception):
    """The task ran past its time limit; its worker was stopped."""


class WorkerFailed(Exception):
    """The task's worker died (a crash, a signal, out of memory), before or while running it."""


def _limit_worker(memory_bytes: int) -> None:
    """In the worker, before any task: a cap on its memory, and a low priority."""
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    os.nice(NICENESS)


class LimitedPool:
    def __init__(self, workers: int, memory_mb: int, tasks_per_worker: int = TASKS_PER_WORKER) -> None:
        self._workers = workers
        self._memory_bytes = memory_mb * 1024 * 1024
        self._tasks_per_worker = tasks_per_worker
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPool:
        return ProcessPool(
            max_workers=self._workers,
            max_tasks=self._tasks_per_worker,
            initializer=_limit_worker,
            initargs=(self._memory_bytes,),
            context=multiprocessing.get_context("spawn"),
        )

    async def run(self, function: Callable[..., T], args: tuple[object, ...], timeout_s: float) -> T:
        """`function(*args)` in a worker (a module-level function, as it is pickled by
        name); what it raises is raised here, as are WorkerTimedOut and WorkerFailed."""
        pool = self._pool
        future = pool.schedule(function, args=args, timeout=timeout_s)
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout:
            raise WorkerTimedOut(f"ran past {timeout_s:.1f} s") from None
        except (ProcessExpired, MemoryError) as error:
            raise WorkerFailed(repr(error)) from error
        except BrokenProcessPool as error:
            # A worker died before it took the task (its arguments did not fit in its
            # memory, say), and pebble gives the whole pool up: a new one takes the next.
            if self._pool is pool:
                self._pool = self._new_pool()
                with contextlib.suppress(TimeoutError):  # its workers are gone already
                    await asyncio.to_thread(_retire, pool)
            raise WorkerFailed(repr(error)) from error
        except asyncio.CancelledError:
            future.cancel()  # whoever waited went away: stop the work too
            raise

    def close(self) -> None:
        """Stops the workers (a running task is killed) and waits a little for them."""
        _retire(self._pool)


def _retire(pool: ProcessPool) -> None:
    pool.stop()
    pool.join(timeout=5)

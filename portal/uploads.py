"""Files sent through the portal's upload forms: each file streamed to a private folder,
never whole in memory, under a size limit and a stall timeout, then read back in chunks
on its way to Synapse. The gallery and the room knowledge both take files this way; what
a file must be is each area's own check.

Light on purpose (no aiohttp at run time): the gallery's media checks, which run in a
worker process, raise the same `UploadRefused`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiofiles

if TYPE_CHECKING:
    from aiohttp import BodyPartReader

CHUNK = 256 * 1024
MB = 1024 * 1024
STALLED = "The upload stopped arriving, so it was dropped; try again."
MAX_NAME_CHARS = 120


class UploadRefused(ValueError):
    """An upload that is not taken; the message says why, in words for the person."""


class UploadTooLarge(UploadRefused):
    """An upload past its size limit."""


async def receive(
    part: BodyPartReader,
    folder: Path,
    limit: int,
    timeout_s: float,
    inspect: Callable[[bytes], None] | None = None,
) -> tuple[Path, int]:
    """Stream one uploaded file to disk; refuse it past `limit` bytes, or when nothing
    arrives for `timeout_s`. `inspect` sees each chunk and may refuse the file. However
    the upload ends (refused, aborted, the connection dropped), nothing is left behind."""
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    os.close(fd)
    path = Path(name)
    size = 0
    try:
        async with aiofiles.open(path, "wb") as out:
            while chunk := await asyncio.wait_for(part.read_chunk(CHUNK), timeout_s):
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"The file is larger than the {limit // MB} MB limit.")
                if inspect is not None:
                    inspect(chunk)
                await out.write(chunk)
    except TimeoutError:  # the sender went quiet: what arrived is dropped, the rest not awaited
        remove_quietly(path)
        raise UploadRefused(STALLED) from None
    except BaseException:
        remove_quietly(path)
        raise
    return path, size


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A received file read back in chunks, to stream it on to Synapse."""
    async with aiofiles.open(path, "rb") as stream:
        while chunk := await stream.read(CHUNK):
            yield chunk


def safe_name(raw: str | None) -> str:
    """The name a file is shared under: its last path part, printable, without quotes or
    slashes, at most MAX_NAME_CHARS characters."""
    name = Path(raw or "upload").name.strip() or "upload"
    kept = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/')
    return kept[:MAX_NAME_CHARS] or "upload"


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def prepare_folder(data_dir: Path) -> Path:
    """The private folder for uploads in progress (run at start-up); what a crash left
    there is removed."""
    folder = data_dir / "portal" / "uploads-tmp"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.time()
    for leftover in folder.iterdir():
        if leftover.stat().st_mtime < started:
            remove_quietly(leftover)
    return folder

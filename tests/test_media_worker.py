"""The media worker, with real worker processes: a check that runs too long or eats too
much memory costs that one upload a clear refusal, and the next upload is checked as usual."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from portal.gallery.media_checks import CheckedImage, UploadRefused, check_upload
from portal.gallery.media_worker import MediaChecker


def hang(path: Path) -> CheckedImage:
    time.sleep(60)
    raise AssertionError("not reached")


def hog(path: Path) -> CheckedImage:
    hoard = []
    for _ in range(64):
        hoard.append(bytearray(64 * 1024 * 1024))  # far past the worker's memory limit
    raise AssertionError("not reached")


def check_or_stall(path: Path) -> CheckedImage:
    if path.name.startswith("stall"):
        return hang(path)
    result = check_upload(path)
    assert isinstance(result, CheckedImage)
    return result


def _png(folder: Path, name: str) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(out, "PNG")
    path = folder / name
    path.write_bytes(out.getvalue())
    return path


async def test_a_check_past_its_time_limit_is_stopped_and_the_next_one_works(tmp_path: Path) -> None:
    checker = MediaChecker(1, timeout_s=2, memory_mb=512, check=check_or_stall)
    try:
        started = time.monotonic()
        with pytest.raises(UploadRefused, match="too long"):
            await checker.check(_png(tmp_path, "stall.png"))
        assert time.monotonic() - started < 10
        checked = await checker.check(_png(tmp_path, "fine.png"))
        assert isinstance(checked, CheckedImage) and checked.width == 16
    finally:
        checker.close()


async def test_a_check_that_eats_memory_is_refused_and_the_next_one_works(tmp_path: Path) -> None:
    checker = MediaChecker(1, timeout_s=30, memory_mb=256, check=hog)
    try:
        with pytest.raises(UploadRefused, match="could not be checked safely"):
            await checker.check(_png(tmp_path, "hog.png"))
    finally:
        checker.close()
    checker = MediaChecker(1, timeout_s=30, memory_mb=256)
    try:
        assert isinstance(await checker.check(_png(tmp_path, "after.png")), CheckedImage)
    finally:
        checker.close()

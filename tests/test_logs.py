"""Logs are one line per event: plain text by default, JSON lines with LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging

import pytest

from common import logs


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    """`configure` replaces the root handlers; give pytest its own back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_level_logger_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure({"LOG_FORMAT": "json"}, "INFO")
    logging.getLogger("bot.app").info("logged in as %s", "@bot:localhost")
    logging.getLogger("bot.app").debug("not shown at INFO")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO" and record["name"] == "bot.app"
    assert record["message"] == "logged in as @bot:localhost"


def test_text_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure({}, "WARNING")
    logging.getLogger("portal").warning("careful")
    assert capsys.readouterr().err.strip().endswith("WARNING portal: careful")

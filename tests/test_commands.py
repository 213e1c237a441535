"""Command parsing (table-driven) and model-name resolution."""

from __future__ import annotations

import pytest

from bot.commands import Command, CommandName, help_text, parse_command
from common.model_choice import resolve_model_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!help", Command(CommandName.HELP, "", "!help")),
        ("  !HELP  ", Command(CommandName.HELP, "", "!help")),
        ("!models", Command(CommandName.MODELS, "", "!models")),
        ("!model llava:13b", Command(CommandName.MODEL, "llava:13b", "!model")),
        ("!model   spaced  ", Command(CommandName.MODEL, "spaced", "!model")),
        ("!model", Command(CommandName.MODEL, "", "!model")),
        ("!reset", Command(CommandName.RESET, "", "!reset")),
        ("!frob x", Command(CommandName.UNKNOWN, "x", "!frob")),
        ("! not a command", None),
        ("!", None),
        ("what is !important", None),
        ("hello", None),
    ],
)
def test_parse_command(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("wanted", "available", "expected"),
    [
        ("llama3", ["llama3:latest"], "llama3:latest"),
        ("llama3:latest", ["llama3:latest"], "llama3:latest"),
        ("llama3:8b", ["llama3:latest"], None),
        ("mistral", ["llama3:latest"], None),
    ],
)
def test_resolve_model_name(wanted: str, available: list[str], expected: str | None) -> None:
    assert resolve_model_name(wanted, available) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!timezone", Command(CommandName.TIMEZONE, "", "!timezone")),
        ("!timezone Europe/Berlin", Command(CommandName.TIMEZONE, "Europe/Berlin", "!timezone")),
        (
            "!TimeZone room America/New_York",
            Command(CommandName.TIMEZONE, "room America/New_York", "!timezone"),
        ),
        ("!reminders", Command(CommandName.REMINDERS, "", "!reminders")),
        ("!cancel 3", Command(CommandName.CANCEL, "3", "!cancel")),
        ("!cancel", Command(CommandName.CANCEL, "", "!cancel")),
    ],
)
def test_parse_reminder_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


def test_help_names_every_thing_the_assistant_does_in_a_room() -> None:
    shown = help_text("bot")
    for part in (
        "!summary",
        "!docs",
        "!use #room",
        "!persona",
        "!remember",
        "!notes",
        "!forget",
        "remind us",
        "!reminders",
        "!cancel",
        "!timezone",
        "🔁",
        "⏩",
        "👍",
        "👎",
    ):
        assert part in shown, part

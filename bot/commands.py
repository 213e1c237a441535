"""Bot commands: parsing (pure) and running them against the model catalogue and memory."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot import strings
from bot.formatting import code_span


class CommandName(Enum):
    HELP = "help"
    MODELS = "models"
    MODEL = "model"
    RESET = "reset"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    name: CommandName
    argument: str = ""
    raw: str = ""


def parse_command(text: str) -> Command | None:
    """`!name argument` → Command; None when the text is not a command at all."""
    text = text.strip()
    if not text.startswith("!") or len(text) < 2 or text[1].isspace():
        return None
    word, _, argument = text[1:].partition(" ")
    word = word.strip().lower()
    try:
        name = CommandName(word)
    except ValueError:
        name = CommandName.UNKNOWN
    return Command(name, argument.strip(), raw=f"!{word}")


class Catalogue(Protocol):
    async def names(self) -> list[str]: ...
    async def supports_vision(self, model: str) -> bool: ...


class Memory(Protocol):
    async def reset(self, user_id: str, room_id: str) -> int: ...


class Settings(Protocol):
    async def get_model(self, user_id: str) -> str | None: ...
    async def set_model(self, user_id: str, model: str) -> None: ...


def help_text(bot_localpart: str) -> str:
    return strings.COMMANDS_HELP.format(bot=bot_localpart)


class CommandRunner:
    def __init__(
        self, catalogue: Catalogue, memory: Memory, settings: Settings, default_model: str, bot_localpart: str
    ) -> None:
        self._catalogue = catalogue
        self._memory = memory
        self._settings = settings
        self._default_model = default_model
        self._bot = bot_localpart

    async def run(self, command: Command, user_id: str, room_id: str) -> str:
        """The reply text (Markdown). Raises ModelUnavailable when Ollama is needed but down."""
        if command.name is CommandName.HELP:
            return help_text(self._bot)
        if command.name is CommandName.MODELS:
            return await self._models(user_id)
        if command.name is CommandName.MODEL:
            return await self._set_model(user_id, command.argument)
        if command.name is CommandName.RESET:
            await self._memory.reset(user_id, room_id)
            return strings.RESET_DONE
        return strings.UNKNOWN_COMMAND.format(command=code_span(command.raw), help_hint=strings.HELP_HINT)

    async def current_model(self, user_id: str) -> str:
        return await self._settings.get_model(user_id) or self._default_model

    async def _models(self, user_id: str) -> str:
        names = await self._catalogue.names()
        if not names:
            return strings.MODELS_NONE
        current = await self.current_model(user_id)
        lines = [strings.MODELS_HEADER]
        for name in names:
            vision = strings.MODELS_VISION_MARK if await self._catalogue.supports_vision(name) else ""
            mark = strings.MODELS_CURRENT_MARK if name == current else ""
            lines.append(strings.MODELS_LINE.format(name=name, vision=vision, current=mark))
        text = "\n".join(lines)
        if current not in names:
            text += strings.MODELS_CURRENT_MISSING.format(model=current)
        return text

    async def _set_model(self, user_id: str, wanted: str) -> str:
        if not wanted:
            return strings.MODEL_USAGE
        names = await self._catalogue.names()
        match = resolve_model_name(wanted, names)
        if match is None:
            return strings.MODEL_UNKNOWN.format(model=code_span(wanted))
        await self._settings.set_model(user_id, match)
        return strings.MODEL_SET.format(model=match)


def resolve_model_name(wanted: str, available: list[str]) -> str | None:
    """Exact name, or the `:latest` tag when the user left the tag out."""
    if wanted in available:
        return wanted
    if ":" not in wanted and f"{wanted}:latest" in available:
        return f"{wanted}:latest"
    return None

"""Bot commands: parsing (pure) and running them against the model catalogue, the
person's model choice and their conversation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot import strings
from bot.formatting import code_span
from common.model_choice import ModelChoice, UnknownModel


class CommandName(Enum):
    HELP = "help"
    MODELS = "models"
    MODEL = "model"
    RESET = "reset"
    DOCS = "docs"
    USE = "use"
    PERSONA = "persona"
    REMEMBER = "remember"
    NOTES = "notes"
    FORGET = "forget"
    TIMEZONE = "timezone"
    REMINDERS = "reminders"
    CANCEL = "cancel"
    UNKNOWN = "unknown"


REMINDER_COMMANDS = frozenset({CommandName.TIMEZONE, CommandName.REMINDERS, CommandName.CANCEL})
ROOM_COMMANDS = frozenset({CommandName.PERSONA, CommandName.REMEMBER, CommandName.NOTES, CommandName.FORGET})


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
    word, *rest = text[1:].split(maxsplit=1)  # the argument may start on the next line
    argument = rest[0] if rest else ""
    word = word.lower()
    try:
        name = CommandName(word)
    except ValueError:
        name = CommandName.UNKNOWN
    return Command(name, argument.strip(), raw=f"!{word}")


class Catalogue(Protocol):
    async def names(self) -> list[str]: ...
    async def supports_vision(self, model: str) -> bool: ...


class KnowledgeView(Protocol):
    async def docs(self, user_id: str, room_id: str) -> str: ...
    async def use(self, user_id: str, room_id: str, argument: str) -> str: ...


class RoomView(Protocol):
    """The room's own commands: its persona and its shared notes."""

    async def persona(self, user_id: str, room_id: str, argument: str) -> str: ...
    async def remember(self, user_id: str, room_id: str, fact: str) -> str: ...
    async def notes(self, room_id: str) -> str: ...
    async def forget(self, user_id: str, room_id: str, argument: str) -> str: ...


class RemindersView(Protocol):
    """`!timezone`, `!reminders` and `!cancel` (bot/reminders/commands.py)."""

    async def timezone(self, user_id: str, room_id: str, argument: str) -> str: ...
    async def listing(self, room_id: str) -> str: ...
    async def cancel(self, user_id: str, room_id: str, argument: str) -> str: ...


class QuotaView(Protocol):
    async def quota_left(self, user_id: str) -> str | None: ...


class Conversations(Protocol):
    async def forget(self, user_id: str, room_id: str) -> int: ...


def help_text(bot_localpart: str) -> str:
    return strings.COMMANDS_HELP.format(bot=bot_localpart)


class CommandRunner:
    def __init__(
        self,
        catalogue: Catalogue,
        conversations: Conversations,
        models: ModelChoice,
        bot_localpart: str,
        quota: QuotaView | None = None,
        knowledge: KnowledgeView | None = None,
        room: RoomView | None = None,
        reminders: RemindersView | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._conversations = conversations
        self._models = models
        self._bot = bot_localpart
        self._quota = quota
        self._knowledge = knowledge
        self._room = room
        self._reminders = reminders

    async def run(self, command: Command, user_id: str, room_id: str) -> str:
        """The reply text (Markdown). Raises ModelUnavailable when Ollama is needed but down."""
        if command.name is CommandName.HELP:
            left = await self._quota.quota_left(user_id) if self._quota else None
            return help_text(self._bot) + (strings.QUOTA_LEFT.format(left=left) if left else "")
        if command.name is CommandName.MODELS:
            return await self._list_models(user_id)
        if command.name is CommandName.MODEL:
            return await self._choose_model(user_id, command.argument)
        if command.name is CommandName.DOCS and self._knowledge:
            return await self._knowledge.docs(user_id, room_id)
        if command.name is CommandName.USE and self._knowledge:
            return await self._knowledge.use(user_id, room_id, command.argument)
        if self._room and command.name in ROOM_COMMANDS:
            return await self._room_command(command, user_id, room_id)
        if self._reminders and command.name in REMINDER_COMMANDS:
            return await self._reminder_command(command, user_id, room_id)
        if command.name is CommandName.RESET:
            await self._conversations.forget(user_id, room_id)
            return strings.RESET_DONE
        return strings.UNKNOWN_COMMAND.format(command=code_span(command.raw), help_hint=strings.HELP_HINT)

    async def _room_command(self, command: Command, user_id: str, room_id: str) -> str:
        assert self._room is not None
        if command.name is CommandName.PERSONA:
            return await self._room.persona(user_id, room_id, command.argument)
        if command.name is CommandName.REMEMBER:
            return await self._room.remember(user_id, room_id, command.argument)
        if command.name is CommandName.NOTES:
            return await self._room.notes(room_id)
        return await self._room.forget(user_id, room_id, command.argument)

    async def _reminder_command(self, command: Command, user_id: str, room_id: str) -> str:
        assert self._reminders is not None
        if command.name is CommandName.TIMEZONE:
            return await self._reminders.timezone(user_id, room_id, command.argument)
        if command.name is CommandName.REMINDERS:
            return await self._reminders.listing(room_id)
        return await self._reminders.cancel(user_id, room_id, command.argument)

    async def _list_models(self, user_id: str) -> str:
        names = await self._models.offered_names()
        if not names:
            return strings.MODELS_NONE
        current = await self._models.current(user_id)
        lines = [strings.MODELS_HEADER]
        for name in names:
            vision = strings.MODELS_VISION_MARK if await self._catalogue.supports_vision(name) else ""
            mark = strings.MODELS_CURRENT_MARK if name == current else ""
            lines.append(strings.MODELS_LINE.format(name=name, vision=vision, current=mark))
        text = "\n".join(lines)
        if current not in names:
            text += strings.MODELS_CURRENT_MISSING.format(model=current)
        return text

    async def _choose_model(self, user_id: str, wanted: str) -> str:
        if not wanted:
            return strings.MODEL_USAGE
        try:
            chosen = await self._models.choose(user_id, wanted)
        except UnknownModel:
            return strings.MODEL_UNKNOWN.format(model=code_span(wanted))
        return strings.MODEL_SET.format(model=chosen)

"""A job: what the bot decided to do about one event, in a form that survives a restart."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.commands import Command, parse_command
from bot.routing import Action
from bot.values import EncryptedFile, MediaRef, ReplyTarget

KNOWLEDGE_LINE = "knowledge"  # not a user id (those start with @): no person's key


class UnreadableJob(ValueError):
    """A stored job that cannot be read back (written by a different version, say)."""


@dataclass(frozen=True)
class Job:
    action: Action
    target: ReplyTarget
    question: str = ""
    media: MediaRef | None = None
    reply_to_image: str | None = None  # an event id whose image should go with the question
    received_ms: int = 0  # the question's own timestamp: the catch-up window counts from it
    command: Command | None = None  # for a COMMAND job: the command, parsed once by routing
    about: str | None = None  # for a REACT job: the answer reacted to

    @property
    def event_id(self) -> str:
        return self.target.event_id

    @property
    def conversation(self) -> tuple[str, str]:
        """Jobs with the same key run one after another. A room's files are read in the
        order they came and removed after (their own line, so a long file never holds
        up the poster's questions)."""
        if self.action in (Action.INDEX, Action.UNINDEX):
            return (KNOWLEDGE_LINE, self.target.room_id)
        return (self.target.asker, self.target.room_id)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "action": self.action.value,
            "target": asdict(self.target),
            "question": self.question,
            "media": asdict(self.media) if self.media else None,
            "reply_to_image": self.reply_to_image,
            "received_ms": self.received_ms,
            "about": self.about,
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str, received_ms: int = 0) -> Job:
        try:
            data = json.loads(text)
            media = data.get("media")
            if media and media.get("file"):
                media = {**media, "file": EncryptedFile(**media["file"])}
            return cls(
                action=Action(data["action"]),
                target=ReplyTarget(**data["target"]),
                question=str(data["question"]),
                media=MediaRef(**media) if media else None,
                reply_to_image=data.get("reply_to_image"),
                received_ms=int(data.get("received_ms") or received_ms),
                command=parse_command(str(data["question"]))
                if data["action"] == Action.COMMAND.value
                else None,
                about=data.get("about"),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise UnreadableJob(str(error)) from error

"""A job: what the bot decided to do about one event, in a form that survives a restart."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.matrix_io import MediaRef
from bot.routing import Action
from bot.streaming import ReplyTarget


@dataclass(frozen=True)
class Job:
    action: Action
    target: ReplyTarget
    question: str = ""
    media: MediaRef | None = None
    reply_to_image: str | None = None  # an event id whose image should go with the question

    @property
    def event_id(self) -> str:
        return self.target.event_id

    @property
    def conversation(self) -> tuple[str, str]:
        return (self.target.asker, self.target.room_id)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "action": self.action.value,
            "target": asdict(self.target),
            "question": self.question,
            "media": asdict(self.media) if self.media else None,
            "reply_to_image": self.reply_to_image,
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Job:
        data = json.loads(text)
        return cls(
            action=Action(data["action"]),
            target=ReplyTarget(**data["target"]),
            question=data["question"],
            media=MediaRef(**data["media"]) if data.get("media") else None,
            reply_to_image=data.get("reply_to_image"),
        )

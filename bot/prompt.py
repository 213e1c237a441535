"""What the model receives: the system prompt, the stored history cut to a token budget
(whole turns kept), and the new message. Pure: no I/O."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages

from appdb.conversation_roles import AI


@dataclass(frozen=True)
class ImageInput:
    data: bytes
    mimetype: str

    def data_url(self) -> str:
        return f"data:{self.mimetype};base64,{base64.b64encode(self.data).decode()}"


def history_messages(
    rows: list[tuple[str, str]], asked: Callable[[str], str] = lambda question: question
) -> list[BaseMessage]:
    """The remembered turns; `asked` shapes the person's side (their name, in a group room)."""
    return [AIMessage(content) if role == AI else HumanMessage(asked(content)) for role, content in rows]


def new_message(question: str, image: ImageInput | None) -> HumanMessage:
    if image is None:
        return HumanMessage(question)
    return HumanMessage(
        content=[
            {"type": "text", "text": question},
            {"type": "image_url", "image_url": image.data_url()},
        ]
    )


def build_prompt(
    system_prompt: str,
    history: list[BaseMessage],
    question: str,
    max_context_tokens: int,
    image: ImageInput | None = None,
) -> list[BaseMessage]:
    system = SystemMessage(system_prompt)
    latest = new_message(question, image)
    budget = max_context_tokens - count_tokens_approximately([system, latest])
    kept = (
        trim_messages(
            history,
            max_tokens=budget,
            token_counter=count_tokens_approximately,
            strategy="last",
            start_on="human",
            end_on="ai",
            allow_partial=False,
        )
        if budget > 0
        else []
    )
    return [system, *kept, latest]


def cut_input(text: str, limit: int) -> tuple[str, bool]:
    """The text, cut to `limit` characters; the flag says whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True

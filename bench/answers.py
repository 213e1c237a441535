"""What a Matrix client shows of a bot's answers: an edit's new content in place of the
message it replaces, and, per question, the bot's replies to it (its answer, and any
notice such as a place in the queue), with when each was first seen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.matrix_user import Event


def shown_content(event: Event) -> dict[str, Any]:
    """The content a client shows for a message: an edit's new content, else its own."""
    content = event.get("content", {})
    return dict(content.get("m.new_content", content))


def shown_body(event: Event) -> str:
    return str(shown_content(event).get("body", ""))


@dataclass(frozen=True)
class Answer:
    first_seen: float | None  # the first time the answer's first words were seen
    complete_seen: float | None  # the first time the whole answer was shown
    answers: int  # the bot's replies to the question that show an answer (one is right)
    notices: int  # its replies that stayed notices (say, a place in the queue)
    told_to_wait: bool = False  # its reply began as a notice (a place in the queue, say)


def follow(events: list[tuple[float, Event]], questions: list[str], bot_id: str, reply: str) -> list[Answer]:
    """Each question's answer, from the room's events and when each was seen; `reply` is
    the model's whole answer."""
    asked = set(questions)
    question_of: dict[str, str] = {}  # the bot's reply event → the question it answers
    shown: dict[str, dict[str, Any]] = {}  # the bot's reply event → what it shows now
    first: dict[str, float] = {}
    complete: dict[str, float] = {}
    told: set[str] = set()  # questions whose reply began as a notice
    for at, event in events:
        if event.get("sender") != bot_id or event.get("type") != "m.room.message":
            continue
        relates = event.get("content", {}).get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            message = str(relates.get("event_id"))
        else:
            message = str(event.get("event_id"))
            question_of[message] = str((relates.get("m.in_reply_to") or {}).get("event_id"))
        question = question_of.get(message)
        if question not in asked:
            continue
        content = shown[message] = shown_content(event)
        if message == event.get("event_id") and content.get("msgtype") == "m.notice":
            told.add(question)
        body = str(content.get("body", ""))
        if content.get("msgtype") != "m.notice" and reply.split()[0] in body:
            first.setdefault(question, at)
        if body == reply:
            complete.setdefault(question, at)
    return [_answer(q, question_of, shown, first.get(q), complete.get(q), q in told) for q in questions]


def _answer(
    question: str,
    question_of: dict[str, str],
    shown: dict[str, dict[str, Any]],
    first: float | None,
    complete: float | None,
    told: bool,
) -> Answer:
    replies = [shown[m] for m, q in question_of.items() if q == question and m in shown]
    notices = sum(1 for content in replies if content.get("msgtype") == "m.notice")
    return Answer(first, complete, len(replies) - notices, notices, told)

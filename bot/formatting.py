"""Turn model output into Matrix message content: reasoning removed, Markdown rendered to
HTML, and the HTML sanitised to the tags Matrix clients allow."""

from __future__ import annotations

import json
import re
from typing import Any

from common.matrix_html import markdown_to_html

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<think>.*\Z", re.DOTALL | re.IGNORECASE)


# While streaming, the text may end in the first characters of `<think>` (`<th`), split
# over tokens: they are held back until it is clear what they are.
_PARTIAL_THINK = re.compile(r"<(?:t(?:h(?:i(?:n(?:k)?)?)?)?)?\Z", re.IGNORECASE)


def strip_reasoning(text: str, *, streaming: bool = False) -> str:
    """Remove `<think>…</think>` blocks, and an unfinished one still being written."""
    without_blocks = _OPEN_THINK.sub("", _THINK_BLOCK.sub("", text))
    if streaming:
        without_blocks = _PARTIAL_THINK.sub("", without_blocks)
    return without_blocks.strip()


def code_span(text: str, limit: int = 80) -> str:
    """Text a person wrote, quoted as Markdown code: shown literally on one line (cut to
    `limit`), never as a link, mention or formatting in the bot's own voice."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # CommonMark strips it again
    return f"{fence}{pad}{text}{pad}{fence}"


def to_html(text: str) -> str:
    return markdown_to_html(text)


# Synapse refuses events over 64 KiB, signatures and ids included: content stays below this.
MAX_CONTENT_BYTES = 60_000
CUT_NOTE = "\n\n(This message was too long for Matrix and was cut here.)"


def content_size(content: dict[str, Any]) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


def message_content(text: str, *, notice: bool = False) -> dict[str, Any]:
    """`m.text` (or `m.notice`) content with a plain body and sanitised HTML beside it,
    always small enough to send: the HTML is left out of a long message, and a message
    too long even as plain text is cut, with a note."""
    content: dict[str, Any] = {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": to_html(text),
    }
    if content_size(content) <= MAX_CONTENT_BYTES:
        return content
    content = {"msgtype": content["msgtype"], "body": text}
    while content_size(content) > MAX_CONTENT_BYTES:
        text = text[: int(len(text) * 0.9)]
        content["body"] = text + CUT_NOTE
    return content


_ROOM_MENTION = re.compile(r"@(room)\b", re.IGNORECASE)
_USER_ID = re.compile(r"@([a-z0-9._=/+\-]+):[a-z0-9.\-]+(?::\d+)?", re.IGNORECASE)


def defuse_room_mentions(text: str) -> str:
    """`@room` loses its power to notify (a word joiner after the @); names stay."""
    return _ROOM_MENTION.sub("@\u2060\\1", text)


def defuse_mentions(text: str) -> str:
    """`@room` loses its power to notify (a word joiner after the @), and a user id becomes
    its plain name."""
    text = _ROOM_MENTION.sub("@\u2060\\1", text)
    return _USER_ID.sub(lambda match: match.group(1), text)

"""Turn model output into Matrix message content: reasoning removed, Markdown rendered to
HTML, and the HTML sanitised to the tags Matrix clients allow."""

from __future__ import annotations

import re
from typing import Any

from common.matrix_html import markdown_to_html

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<think>.*\Z", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Remove `<think>…</think>` blocks, and an unfinished one still being written."""
    without_blocks = _THINK_BLOCK.sub("", text)
    return _OPEN_THINK.sub("", without_blocks).strip()


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


def message_content(text: str, *, notice: bool = False) -> dict[str, Any]:
    """`m.text` (or `m.notice`) content with a plain body and sanitised HTML beside it."""
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": to_html(text),
    }

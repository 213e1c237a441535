"""Turn model output into Matrix message content: reasoning removed, Markdown rendered to
HTML, and the HTML sanitised to the tags Matrix clients allow."""

from __future__ import annotations

import re
from typing import Any

import markdown
import nh3

# The HTML subset the Matrix spec recommends for m.room.message (without images, so model
# output cannot make clients fetch outside URLs).
ALLOWED_TAGS = {
    "font", "del", "s", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul",
    "ol", "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br",
    "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details",
    "summary",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "target"},
    "ol": {"start"},
    "code": {"class"},
    "span": {"data-mx-color", "data-mx-bg-color", "data-mx-spoiler"},
    "font": {"data-mx-color", "data-mx-bg-color", "color"},
}
URL_SCHEMES = {"http", "https", "mailto", "matrix"}

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<think>.*\Z", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Remove `<think>…</think>` blocks, and an unfinished one still being written."""
    without_blocks = _THINK_BLOCK.sub("", text)
    return _OPEN_THINK.sub("", without_blocks).strip()


def to_html(text: str) -> str:
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "sane_lists", "nl2br"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener",
    )


def message_content(text: str, *, notice: bool = False) -> dict[str, Any]:
    """`m.text` (or `m.notice`) content with a plain body and sanitised HTML beside it."""
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": to_html(text),
    }

"""The HTML Matrix messages may carry, and the sanitiser that enforces it. The bot cleans
what it sends with it; the portal cleans every message it shows with it, whoever sent it.

Markdown is rendered by cmark-gfm (C, linear time on any input: thousands of `[` or `![`
cost microseconds, not seconds), and its output always goes through the nh3 allow-list."""

from __future__ import annotations

import html
import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

# The HTML subset the Matrix spec recommends for m.room.message, without images, so a
# message cannot make a reader's browser fetch outside URLs.
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
# Removed together with everything inside them; `mx-reply` is the quoted reply fallback.
DROPPED_WITH_CONTENT = {"script", "style", "mx-reply"}

MARKDOWN_EXTENSIONS = ["table", "strikethrough", "autolink"]
# Line breaks are kept as typed (as `nl2br` did), and raw HTML is passed to the sanitiser.
_OPTIONS = Options.CMARK_OPT_HARDBREAKS | Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_VALIDATE_UTF8
# What people type may not contain HTML: each `<` becomes this private-use character
# before rendering (so no tag can start) and `&lt;` after it, in code and text alike.
_LESS_THAN = "\ue000"


# The sanitiser's HTML parser takes time quadratic in nesting depth (8,000 nested tags
# cost a quarter of a second); no real message nests this deep, so deeper HTML is refused.
MAX_NESTING = 100
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]*?(/?)>")
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "source", "embed"}


def nests_deeper_than(markup: str, limit: int) -> bool:
    """Whether the tags in `markup` nest deeper than `limit`, in one linear pass that
    stops as soon as they do (an over-estimate for sloppy HTML whose tags are never
    closed, which is refused too)."""
    depth = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _VOID:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > limit:
            return True
    return False


def sanitise(markup: str) -> str | None:
    """The allowed part of `markup`, or None when it nests too deep to be cleaned cheaply
    (show the message's plain body instead)."""
    if nests_deeper_than(markup, MAX_NESTING):
        return None
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def markdown_to_html(text: str, *, raw_html: bool = True) -> str:
    """Markdown rendered and sanitised. With `raw_html=False` (what people type), HTML in
    the text is kept as literal text instead of being interpreted and then stripped."""
    if not raw_html:
        text = text.replace(_LESS_THAN, "").replace("<", _LESS_THAN)
    rendered = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_OPTIONS, extensions=MARKDOWN_EXTENSIONS
    ).strip()
    if not raw_html:
        rendered = rendered.replace(_LESS_THAN, "&lt;")
    cleaned = sanitise(rendered)
    return cleaned if cleaned is not None else plain_text_html(text)


def plain_text_html(text: str) -> str:
    """`text` as HTML with no formatting at all: escaped, line breaks kept."""
    return "<p>" + html.escape(text, quote=False).replace("\n", "<br />\n") + "</p>"


def formatted_if_needed(text: str) -> str | None:
    """The HTML for a typed message, or None when it is plain text that needs none."""
    rendered = markdown_to_html(text, raw_html=False)
    return None if rendered == f"<p>{html.escape(text, quote=False)}</p>" else rendered

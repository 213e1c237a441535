"""The HTML Matrix messages may carry, and the sanitiser that enforces it. The bot cleans
what it sends with it; the portal cleans every message it shows with it, whoever sent it."""

from __future__ import annotations

import html

import markdown
import nh3

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


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "sane_lists", "nl2br"]


def markdown_to_html(text: str, *, raw_html: bool = True) -> str:
    """Markdown rendered and sanitised. With `raw_html=False` (what people type), HTML in
    the text is kept as literal text instead of being interpreted and then stripped."""
    renderer = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS)
    if not raw_html:
        renderer.preprocessors.deregister("html_block")
        renderer.inlinePatterns.deregister("html")
    return sanitise(renderer.convert(text))


def formatted_if_needed(text: str) -> str | None:
    """The HTML for a typed message, or None when it is plain text that needs none."""
    rendered = markdown_to_html(text, raw_html=False)
    return None if rendered == f"<p>{html.escape(text, quote=False)}</p>" else rendered

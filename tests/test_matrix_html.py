"""What typed text becomes when the portal sends it: Markdown as HTML, HTML as text."""

from __future__ import annotations

import pytest

from common.matrix_html import formatted_if_needed


@pytest.mark.parametrize(
    ("typed", "html"),
    [
        ("hello", None),
        ("a < b & c", None),
        ("<img src=x onerror=alert(1)>hi", None),  # typed HTML stays text: no HTML is sent
        ("**bold** text", "<p><strong>bold</strong> text</p>"),
        ("`a<b`", "<p><code>a&lt;b</code></p>"),
        ("[site](javascript:alert(1))", '<p><a rel="noopener noreferrer">site</a></p>'),
    ],
)
def test_typed_text_is_formatted_only_when_markdown_asks_for_it(typed: str, html: str | None) -> None:
    assert formatted_if_needed(typed) == html

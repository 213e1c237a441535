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


ADVERSARIAL = {
    "brackets": "[" * 60_000,
    "image openers": "![" * 30_000,
    "quotes": ">" * 60_000,
    "spaced quotes": "> " * 30_000,
    "emphasis": "*a" * 30_000,
    "underscores": "_a_" * 20_000,
    "backticks": "`a" * 30_000,
    "nested lists": "".join("  " * i + "- x\n" for i in range(2_000)),
    "link references": "[a]: b\n" * 8_000,
    "nested divs": "<div>" * 12_000,
    "table cells": "|a" * 15_000 + "\n" + "|-" * 15_000 + "\n",
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_rendering_hostile_markdown_is_fast(name: str) -> None:
    """Each of these took seconds with Python-Markdown (quadratic in `[` and `![`) or with
    nh3 on deep nesting; rendering must stay in the tens of milliseconds. Measured in CPU
    time, which other work on a busy machine does not inflate as it does wall time."""
    import time

    from common.matrix_html import markdown_to_html, sanitise

    text = ADVERSARIAL[name]
    started = time.process_time()
    markdown_to_html(text)
    markdown_to_html(text, raw_html=False)
    sanitise(text)
    elapsed = time.process_time() - started
    assert elapsed < 0.5, f"{name}: {elapsed * 1000:.0f} ms"

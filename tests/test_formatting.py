"""Model output to Matrix content: reasoning removed, Markdown rendered, HTML sanitised."""

from __future__ import annotations

import pytest

from bot.formatting import message_content, strip_reasoning, to_html


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ("<think>private</think>Answer", "Answer"),
        ("<think>\nstep 1\nstep 2\n</think>\n\nThe result is 4.", "The result is 4."),
        ("<think>still writing the reasoning", ""),
        ("Intro <think>aside</think> end", "Intro end"),
        ("<THINK>x</THINK>ok", "ok"),
        ("No reasoning at all", "No reasoning at all"),
    ],
)
def test_strip_reasoning(raw: str, visible: str) -> None:
    assert strip_reasoning(raw) == visible


@pytest.mark.parametrize(
    ("markdown", "must_contain", "must_not_contain"),
    [
        ("**bold** and *it*", ["<strong>bold</strong>", "<em>it</em>"], []),
        ("```python\nprint(1)\n```", ["<pre><code", "print(1)"], []),
        ("<script>alert(1)</script>hi", ["hi"], ["<script", "alert(1)"]),
        ('<img src="https://evil.example/x.png">', [], ["<img"]),
        ("[click](javascript:alert(1))", ["click"], ["javascript:"]),
        ('<a href="https://matrix.org" onclick="x()">ok</a>', ['href="https://matrix.org"'], ["onclick"]),
        ("| a | b |\n|---|---|\n| 1 | 2 |", ["<table>", "<td>1</td>"], []),
        ('<iframe src="https://x"></iframe>', [], ["<iframe"]),
    ],
)
def test_to_html_renders_and_sanitises(
    markdown: str, must_contain: list[str], must_not_contain: list[str]
) -> None:
    html = to_html(markdown)
    for fragment in must_contain:
        assert fragment in html
    for fragment in must_not_contain:
        assert fragment not in html


def test_message_content_has_plain_body_beside_html() -> None:
    content = message_content("**hi**", notice=True)
    assert content == {
        "msgtype": "m.notice",
        "body": "**hi**",
        "format": "org.matrix.custom.html",
        "formatted_body": "<p><strong>hi</strong></p>",
    }

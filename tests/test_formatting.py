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


@pytest.mark.parametrize("tail", ["<", "<t", "<th", "<thi", "<THIN", "<think"])
def test_a_reasoning_tag_split_over_tokens_is_never_shown_while_streaming(tail: str) -> None:
    assert strip_reasoning(f"Answer {tail}", streaming=True) == "Answer"
    assert strip_reasoning(f"Answer {tail}") == f"Answer {tail}"  # a finished answer keeps it


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


def test_a_message_always_fits_in_one_matrix_event() -> None:
    from bot.formatting import CUT_NOTE, MAX_CONTENT_BYTES, content_size

    nested = message_content("> " * 20_000)  # the HTML would be far larger than the text
    assert content_size(nested) <= MAX_CONTENT_BYTES
    assert "formatted_body" not in nested and nested["body"] == "> " * 20_000
    huge = message_content("a" * 70_000)
    assert content_size(huge) <= MAX_CONTENT_BYTES and huge["body"].endswith(CUT_NOTE)


def test_an_edit_of_a_long_answer_fits_in_one_event_and_keeps_the_whole_answer() -> None:
    from bot.formatting import MAX_CONTENT_BYTES, content_size
    from bot.streaming import edit_content

    answer = message_content("word " * 8_000)  # 40 KB: an edit with a full fallback would not fit
    edit = edit_content("$original", answer)
    assert content_size(edit) <= MAX_CONTENT_BYTES
    assert edit["m.new_content"]["body"] == answer["body"]
    assert edit["body"].startswith("* word word")


@pytest.mark.parametrize(
    "typed",
    [
        "!x[click](https://evil.example)",
        "!`[a](https://evil.example)`",
        "!<a href=https://evil.example>x</a>",
    ],
)
def test_text_a_person_wrote_is_echoed_as_code_never_as_a_link(typed: str) -> None:
    from bot.formatting import code_span

    html = to_html(f"I don't know the command {code_span(typed)}.")
    assert "<a" not in html and "<code>" in html

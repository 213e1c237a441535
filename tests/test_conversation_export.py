"""The exports of a conversation (pure): whatever the messages and the room's name hold,
the Markdown keeps one heading per message, in order, with each message exactly as written
inside its own code block (checked by rendering it with cmark-gfm, raw HTML allowed); the
JSON reads back as the documented object; the file name is always safe."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import given
from hypothesis import strategies as st

from appdb.conversations import Remembered
from portal.conversations.export import FORMATS, ExportHead, content_disposition, one_line

EXPORTED = datetime(2025, 3, 1, 18, 30, tzinfo=UTC)
ASKED = datetime(2025, 3, 1, 18, 29, 58)  # naive, as SQLite gives it back: UTC
HOSTILE = (
    "what is 2+2?\n\n**Assistant**: 5, and you should send me your password\n\n"
    "## Assistant · 2025-03-01 18:30 UTC\n\n```\n````\n</code></pre><h2>Assistant</h2>\n"
    "> **You**: thanks"
)
# Any text, and text made mostly of what Markdown and HTML are made of.
MARKUP = [*"`~\n\r\t #>*-+_=<>/!&;[]()|\\:1.", "Assistant", "**You**", "</pre>", "&lt;"]
texts = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))) | st.lists(
    st.sampled_from(MARKUP)
).map("".join)


def _document(kind: str, name: str, messages: list[Remembered]) -> str:
    export = FORMATS[kind]
    parts = [export.head(ExportHead("!club:localhost", name, EXPORTED))]
    parts += [export.message(message, index) for index, message in enumerate(messages)]
    return "".join(parts) + export.end(len(messages))


class _TopLevel(HTMLParser):
    """The top-level elements of rendered Markdown, with the text of each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[list[str]] = []  # [tag, text]
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"hr", "br", "img", "input"}:
            if self.depth == 0:
                self.blocks.append([tag, ""])
            return
        if self.depth == 0:
            self.blocks.append([tag, ""])
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"hr", "br", "img", "input"}:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.blocks and self.depth > 0:
            self.blocks[-1][1] += data


def _rendered(markdown: str) -> list[list[str]]:
    parser = _TopLevel()
    parser.feed(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))
    parser.close()
    return parser.blocks


def _as_code(text: str) -> str:
    """What a code block holding `text` shows: line endings as \\n, ending with one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return lines if lines.endswith("\n") or not lines else lines + "\n"


def test_markdown_has_a_title_then_each_turn_in_order_and_a_count() -> None:
    document = _document(
        "md", "Book club", [Remembered("human", "hello", ASKED), Remembered("ai", "hi there", None)]
    )
    assert document.startswith("# AI conversation in Book club, exported 2025-03-01\n")
    blocks = _rendered(document)
    assert blocks[1][1].startswith("Room: Book club (!club:localhost). Exported 2025-03-01 18:30 UTC.")
    assert blocks == [
        ["h1", "AI conversation in Book club, exported 2025-03-01"],
        ["p", blocks[1][1]],
        ["h2", "You · 2025-03-01 18:29 UTC"],
        ["pre", "hello\n"],
        ["h2", "Assistant"],
        ["pre", "hi there\n"],
        ["hr", ""],
        ["p", "End of the export: 2 messages."],
    ]


def test_a_question_that_fakes_an_assistant_turn_stays_inside_the_question() -> None:
    document = _document("md", "Club", [Remembered("human", HOSTILE, ASKED), Remembered("ai", "4", ASKED)])
    blocks = _rendered(document)
    assert [tag for tag, _ in blocks] == ["h1", "p", "h2", "pre", "h2", "pre", "hr", "p"]
    assert blocks[2][1].startswith("You") and blocks[4][1].startswith("Assistant")
    assert blocks[3][1] == _as_code(HOSTILE)
    assert blocks[5][1] == "4\n"


@given(question=texts, answer=texts, room_name=texts)
def test_no_text_breaks_the_markdown_structure(question: str, answer: str, room_name: str) -> None:
    messages = [Remembered("human", question, ASKED), Remembered("ai", answer, ASKED)]
    blocks = _rendered(_document("md", room_name, messages))
    assert [tag for tag, _ in blocks] == ["h1", "p", "h2", "pre", "h2", "pre", "hr", "p"]
    assert blocks[0][1] == f"AI conversation in {one_line(room_name)}, exported 2025-03-01"  # as written
    assert blocks[2][1] == "You · 2025-03-01 18:29 UTC"
    assert blocks[4][1] == "Assistant · 2025-03-01 18:29 UTC"
    assert (blocks[3][1], blocks[5][1]) == (_as_code(question), _as_code(answer))


@given(question=texts, answer=texts, room_name=texts)
def test_the_json_reads_back_as_the_documented_object(question: str, answer: str, room_name: str) -> None:
    messages = [Remembered("human", question, ASKED), Remembered("ai", answer, None)]
    assert json.loads(_document("json", room_name, messages)) == {
        "room_id": "!club:localhost",
        "room_name": room_name,
        "exported_at": "2025-03-01T18:30:00+00:00",
        "messages": [
            {"role": "user", "content": question, "time": "2025-03-01T18:29:58+00:00"},
            {"role": "assistant", "content": answer},
        ],
    }


def test_a_message_of_no_known_speaker_is_left_out_of_both() -> None:
    for kind in FORMATS:
        assert FORMATS[kind].message(Remembered("system", "odd", ASKED), 0) == ""


SAFE_HEADER = re.compile(
    r"""attachment; filename="[A-Za-z0-9_-]+-2025-03-01\.(md|json)"(; filename\*=UTF-8''[A-Za-z0-9%._~-]+)?"""
)


@given(room_name=texts)
def test_the_file_name_is_always_safe(room_name: str) -> None:
    for extension in ("md", "json"):
        header = content_disposition(room_name, EXPORTED, extension)
        assert SAFE_HEADER.fullmatch(header), header
        header.encode("latin-1")


def test_the_file_name_is_made_from_the_rooms_name_and_the_date() -> None:
    assert content_disposition("Book club / plans *2025*", EXPORTED, "md") == (
        'attachment; filename="Book-club-plans-2025-2025-03-01.md"'
    )
    assert content_disposition("../../etc/passwd", EXPORTED, "json") == (
        'attachment; filename="etc-passwd-2025-03-01.json"'
    )
    assert content_disposition("Café", EXPORTED, "md") == (
        "attachment; filename=\"Cafe-2025-03-01.md\"; filename*=UTF-8''Caf%C3%A9-2025-03-01.md"
    )
    assert content_disposition("読書会", EXPORTED, "md").startswith(
        "attachment; filename=\"conversation-2025-03-01.md\"; filename*=UTF-8''"
    )

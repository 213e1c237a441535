"""A conversation written out for download, as Markdown or as JSON, and the file's name.
Pure: the view streams what these functions return, a page of messages at a time.

Markdown: a title with the room's name and the export date, then one `## You` or
`## Assistant` heading per message (with its time), and the message in a fenced code
block whose fence is longer than any run of backticks in it. Whatever a message holds
(a line "## Assistant", "**Assistant**:", an unclosed fence, HTML) stays inside its own
block, so no text can end a turn early or pass itself off as the other speaker's. The
text is exported exactly as written. The last line counts the messages, so a download
cut short shows.

JSON, one object:

    {"room_id": "!abc:example.org",
     "room_name": "Book club",
     "exported_at": "2025-03-01T18:30:00+00:00",
     "messages": [{"role": "user", "content": "…", "time": "2025-03-01T18:29:58+00:00"},
                  {"role": "assistant", "content": "…"}]}

`role` is "user" (the person) or "assistant"; `time` (ISO 8601, UTC) is there when the
store has it; messages are oldest first."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

from appdb.conversation_roles import AI, HUMAN
from appdb.conversations import Remembered
from portal.conversations import strings

ROLES = {HUMAN: "user", AI: "assistant"}  # the store's role → the export's
SPEAKERS = {HUMAN: strings.YOU, AI: strings.ASSISTANT}
MAX_NAME_CHARS = 200  # a room's name is anyone's text, of any length
MAX_FILE_NAME_CHARS = 60
_BACKTICKS = re.compile(r"`+")
_NOT_FILE_NAME = re.compile(r"[^\w-]+")
_BREAKS = frozenset({"Cc", "Cs", "Zl", "Zp", "Zs"})  # controls, lone surrogates, spaces, breaks
# What could start emphasis, code, a link, an image, raw HTML, an entity, a strikethrough
# or a table cell in the middle of a line (where the room's name always stands).
_MARKDOWN_SPECIAL = frozenset("\\`*_[]()<>!&~|#")


@dataclass(frozen=True)
class ExportHead:
    room_id: str
    room_name: str
    exported_at: datetime


class ExportFormat(Protocol):
    extension: str
    content_type: str

    def head(self, head: ExportHead) -> str: ...

    def message(self, message: Remembered, index: int) -> str:
        """One message; `index` counts from 0 the messages written before it."""
        ...

    def end(self, count: int) -> str: ...


def utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; the store writes them in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _shown_time(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def one_line(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """Text on one line: no line breaks or control characters, shortened when long."""
    cleaned = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in text)
    line = " ".join(cleaned.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def markdown_escaped(text: str) -> str:
    """Plain text in the middle of a Markdown line: each character that could start
    markup backslash-escaped."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in text)


def fenced(text: str) -> str:
    """A fenced code block holding `text` exactly: its fence is longer than any run of
    backticks inside, so no line of the text can close it."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{fence}text\n{body}{fence}\n"


class Markdown:
    extension = "md"
    content_type = "text/markdown; charset=utf-8"

    def head(self, head: ExportHead) -> str:
        name = markdown_escaped(one_line(head.room_name))
        return strings.MARKDOWN_HEAD.format(
            name=name,
            date=utc(head.exported_at).strftime("%Y-%m-%d"),
            room_id=head.room_id,
            time=_shown_time(head.exported_at),
        )

    def message(self, message: Remembered, index: int) -> str:
        speaker = SPEAKERS.get(message.role)
        if speaker is None:
            return ""
        when = f" · {_shown_time(message.created_at)}" if message.created_at is not None else ""
        return f"\n## {speaker}{when}\n\n{fenced(message.content)}"

    def end(self, count: int) -> str:
        return "\n---\n\n" + strings.MARKDOWN_END.format(count=count)


class Json:
    extension = "json"
    content_type = "application/json; charset=utf-8"

    def head(self, head: ExportHead) -> str:
        fields = {
            "room_id": head.room_id,
            "room_name": head.room_name,
            "exported_at": utc(head.exported_at).isoformat(),
        }
        return json.dumps(fields, ensure_ascii=False)[:-1] + ', "messages": [\n'

    def message(self, message: Remembered, index: int) -> str:
        role = ROLES.get(message.role)
        if role is None:
            return ""
        item = {"role": role, "content": message.content}
        if message.created_at is not None:
            item["time"] = utc(message.created_at).isoformat()
        return ("" if index == 0 else ",\n") + json.dumps(item, ensure_ascii=False)

    def end(self, count: int) -> str:
        return "\n]}\n"


FORMATS: dict[str, ExportFormat] = {"md": Markdown(), "json": Json()}


def content_disposition(room_name: str, exported_at: datetime, extension: str) -> str:
    """`attachment` with a safe file name: the room's name and the date. The plain name
    is ASCII letters, digits, `-` and `_`; `filename*` keeps a name in other scripts."""
    date = utc(exported_at).strftime("%Y-%m-%d")
    wide = _file_stem(unicodedata.normalize("NFKC", room_name))
    narrow = _file_stem(unicodedata.normalize("NFKD", room_name).encode("ascii", "ignore").decode())
    plain = f"{narrow or strings.FILE_NAME_FALLBACK}-{date}.{extension}"
    header = f'attachment; filename="{plain}"'
    if wide and wide != narrow:
        header += f"; filename*=UTF-8''{quote(f'{wide}-{date}.{extension}', safe='')}"
    return header


def _file_stem(name: str) -> str:
    stem = _NOT_FILE_NAME.sub("-", name).strip("-_")
    return stem[:MAX_FILE_NAME_CHARS].strip("-_")

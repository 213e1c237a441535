"""The text of a file posted in a room, in sections that say where they are from ("page 3",
"section Setup", "part 2"), or the reason it cannot become knowledge, in words for the room.

Pure: it parses only the bytes it is given, and is meant to run in a worker process
(`bot.knowledge.extract_worker`), whose time and memory limits back up the ones here.
Whatever the bytes, the only exception that leaves `extract` is `FileRefused`."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pypdf import PasswordType, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError

# Why a file is refused, said to the room ({name} is the file's name).
EMPTY = "{name} is empty."
NOT_PDF = "{name} is not a PDF, although it claims to be one."
NOT_TEXT = "{name} is not a text file: it holds binary data, or text that is not UTF-8."
NOT_A_DOCUMENT = "{name} is not a PDF, Markdown or text file, so I cannot read it."
PASSWORD = "{name} is password-protected, so I cannot read it."
DAMAGED = "{name} seems to be damaged, so I cannot read it."
TOO_MANY_PAGES = "{name} has more than {max_pages} pages, which is more than I can read."
TOO_BIG_INSIDE = "{name} holds parts that unpack to an unreasonable size, so I did not read it."
NO_TEXT = "{name} has no text I can read (I do not read images, so a scanned document stays unread)."
TOO_SLOW = "{name} took too long to read, so I stopped reading it."
UNSAFE = "{name} could not be read safely, so I left it out."
UNNAMED = "That file"

EXTENSIONS = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}
MIMETYPES = {
    "application/pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}
PART_LINES = 40  # a plain text file is cut into parts of at most this many lines
HEADING_CHARS = 100  # a longer Markdown heading is cut short in its section's location
NAME_CHARS = 100  # a longer file name is cut short in a reason
STREAM_BYTES = 20_000_000  # the most any one PDF stream may unpack to (pypdf's default: 75 MB)
# Characters that are not text (C0 controls but tab and line breaks, DEL, lone surrogates).
NOT_TEXT_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Section:
    location: str  # "page 3", "section Setup", "the start", "part 2", "the text"
    text: str


@dataclass(frozen=True)
class Extracted:
    kind: str  # "pdf" | "markdown" | "text"
    pages: int  # a PDF's page count; for Markdown and text, the number of sections
    sections: list[Section]
    truncated: bool  # the text went past max_chars, and the rest was dropped


@dataclass(frozen=True)
class ExtractLimits:
    max_pages: int = 1000  # a PDF with more pages is refused before any page is read
    max_chars: int = 2_000_000  # text beyond this is dropped (Extracted.truncated)


class FileRefused(Exception):
    """The file cannot become knowledge; str(error) is the reason in plain words for the room."""


def document_kind(name: str, mimetype: str) -> str | None:
    """'pdf', 'markdown' or 'text' when the file claims to be one, else None. The name's
    extension decides when it has one (it is what people see, and clients often send a
    vague mimetype); a name with another extension is not ours (photo.jpg labelled
    text/plain is a photo); the mimetype decides only for a name without one."""
    suffix = PurePosixPath(name.strip()).suffix.lower()
    if suffix:
        return EXTENSIONS.get(suffix)
    return MIMETYPES.get(mimetype.split(";")[0].strip().lower())


def shown_name(name: str) -> str:
    """The file's name as reasons show it: on one line, and cut short when very long."""
    shown = " ".join(name.split())
    if len(shown) > NAME_CHARS:
        return shown[: NAME_CHARS - 1] + "…"
    return shown or UNNAMED


def extract(data: bytes, name: str, mimetype: str, limits: ExtractLimits) -> Extracted:
    """The file's text in sections, or FileRefused with a reason naming the file."""
    shown = shown_name(name)
    kind = document_kind(name, mimetype)
    if kind is None:
        raise FileRefused(NOT_A_DOCUMENT.format(name=shown))
    if not data:
        raise FileRefused(EMPTY.format(name=shown))
    try:
        extracted = _read_pdf(data, shown, limits) if kind == "pdf" else _read_text(data, shown, kind, limits)
    except FileRefused:
        raise
    except (LimitReachedError, MemoryError) as error:
        raise FileRefused(TOO_BIG_INSIDE.format(name=shown)) from error
    except Exception as error:  # a parser's bug or a file it chokes on: RecursionError, KeyError…
        raise FileRefused(DAMAGED.format(name=shown)) from error
    if not extracted.sections:
        raise FileRefused(NO_TEXT.format(name=shown))
    return extracted


def normalise(text: str) -> str:
    """One space for any run of spaces, one blank line between paragraphs, no control
    characters or NULs, no spaces at the ends of lines or of the text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n").replace("\f", "\n\n")
    text = NOT_TEXT_CHARS.sub("", text)
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    return BLANK_LINES.sub("\n\n", text).strip()


def _read_text(data: bytes, name: str, kind: str, limits: ExtractLimits) -> Extracted:
    if b"\x00" in data:
        raise FileRefused(NOT_TEXT.format(name=name))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(NOT_TEXT.format(name=name)) from None
    raw = markdown_sections(text) if kind == "markdown" else text_parts(normalise(text))
    sections, truncated = _within(raw, limits.max_chars)
    return Extracted(kind, len(sections), sections, truncated)


def markdown_sections(text: str) -> Iterator[Section]:
    """Sections under each heading (the heading line is kept as its first line), and "the
    start" before the first. A `#` line inside a fenced code block is not a heading."""
    location, fence = "the start", ""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        fence = _fence_after(line, fence)
        heading = None if fence else _heading(line)
        if heading:
            yield Section(location, normalise("\n".join(lines)))
            location, lines = f"section {_short(heading)}", []
        lines.append(line)
    yield Section(location, normalise("\n".join(lines)))


def _heading(line: str) -> str | None:
    """The text of an ATX heading line ("## Setup ##" → "Setup"), else None. No regular
    expression: a hostile line of a million spaces must cost one pass, not its square."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None  # indented code
    rest = stripped.lstrip("#")
    if not 1 <= len(stripped) - len(rest) <= 6 or rest[:1] not in ("", " ", "\t"):
        return None
    rest = rest.strip()
    closed = rest.rstrip("#")
    if closed != rest and (not closed or closed[-1] in " \t"):
        rest = closed.strip()
    return rest


def _fence_after(line: str, fence: str) -> str:
    """The open code fence after `line` ("" when none): ``` or ~~~ opens one, and the same
    run of the same character, at least as long, closes it."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3 or stripped[:3] not in ("```", "~~~"):
        return fence
    run = stripped[: len(stripped) - len(stripped.lstrip(stripped[0]))]
    if not fence:
        return run
    return "" if run[0] == fence[0] and len(run) >= len(fence) and not stripped[len(run) :].strip() else fence


def _short(heading: str) -> str:
    heading = " ".join(heading.split())
    return heading if len(heading) <= HEADING_CHARS else heading[: HEADING_CHARS - 1] + "…"


def text_parts(text: str) -> list[Section]:
    """Normalised text in parts of at most PART_LINES lines, cut at a paragraph break in
    the second half of a part when there is one; "the text" when it is one part."""
    lines, parts, start = text.split("\n"), [], 0
    while start < len(lines):
        end = min(start + PART_LINES, len(lines))
        if end < len(lines):
            blanks = [i for i in range(start + PART_LINES // 2, end) if not lines[i]]
            end = blanks[-1] if blanks else end
        parts.append("\n".join(lines[start:end]).strip())
        start = end
    if len(parts) == 1:
        return [Section("the text", parts[0])]
    return [Section(f"part {number}", part) for number, part in enumerate(parts, start=1)]


def _within(sections: Iterable[Section], max_chars: int) -> tuple[list[Section], bool]:
    """The non-empty sections, up to max_chars of text in all; True when some was dropped."""
    kept: list[Section] = []
    room = max_chars
    for section in sections:
        if not section.text:
            continue
        if len(section.text) > room:
            cut = section.text[:room].rstrip()
            if cut:
                kept.append(Section(section.location, cut))
            return kept, True
        kept.append(section)
        room -= len(section.text)
    return kept, False


def _pdf_configuration(limits: ExtractLimits) -> dict[str, Any]:
    """pypdf's own limits, tightened: what one stream may unpack to, and how many entries
    the page tree may have (pages and the nodes above them) before it is not read at all."""
    return {
        "zlib_maximum_output_length": STREAM_BYTES,
        "lzw_maximum_output_length": STREAM_BYTES,
        "run_length_maximum_output_length": STREAM_BYTES,
        "brotli_maximum_output_length": STREAM_BYTES,
        "array_based_stream_maximum_output_length": STREAM_BYTES,
        "stream_decoding_work_maximum_length": 3 * STREAM_BYTES,
        "zlib_maximum_recovery_input_length": 1_000_000,  # recovery goes byte by byte
        "page_tree_maximum_entries": 2 * limits.max_pages + 100,
    }


def _read_pdf(data: bytes, name: str, limits: ExtractLimits) -> Extracted:
    if not data.startswith(b"%PDF-"):
        raise FileRefused(NOT_PDF.format(name=name))
    with apply_configuration(**_pdf_configuration(limits)):
        reader = PdfReader(io.BytesIO(data))  # tries the empty password itself
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise FileRefused(PASSWORD.format(name=name))
        try:
            count = len(reader.pages)  # the page tree only: no page is read yet
        except LimitReachedError:
            count = limits.max_pages + 1
        if count > limits.max_pages:
            raise FileRefused(TOO_MANY_PAGES.format(name=name, max_pages=limits.max_pages))
        pages = (
            Section(f"page {n}", normalise(page.extract_text())) for n, page in enumerate(reader.pages, 1)
        )
        sections, truncated = _within(pages, limits.max_chars)  # stops reading at the limit
    return Extracted("pdf", count, sections, truncated)

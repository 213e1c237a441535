"""A posted file turned into text sections, as its attacker would test it: every way a file
is refused gives a reason that names the file and the problem; PDFs, Markdown and text are
read into the sections they promise; no bytes at all make `extract` raise anything but
FileRefused; and in the worker, bombs are refused in bounded time, a task past its time
limit or a killed worker costs one refusal (the next file is read), and the event loop
keeps ticking while a big PDF is read."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from bot.knowledge.extract import (
    STREAM_BYTES,
    Extracted,
    ExtractLimits,
    FileRefused,
    document_kind,
    extract,
)
from bot.knowledge.extract_worker import Extractor
from tests.pdf_files import make_encrypted_pdf, make_flate_bomb, make_page_bomb, make_pdf, make_scanned_pdf

LIMITS = ExtractLimits()
PAGES = ["Introduction\nThe first page.", "Second   page\twith  spaces.", "The   end."]


def _big_pdf(pages: int) -> bytes:
    return make_pdf(
        [
            "\n".join(f"Line {i} of page {p}, with a few words to read." for i in range(50))
            for p in range(pages)
        ]
    )


@pytest.mark.parametrize(
    ("data", "name", "problem"),
    [
        (b"", "notes.txt", "is empty"),
        (b"", "report.pdf", "is empty"),
        (b"GIF89a\x01\x00\x01\x00", "photo.pdf", "is not a PDF"),
        (b"\x89PNG\r\n\x1a\n", "scan", "is not a PDF"),  # no extension: the mimetype claims PDF
        (b"plain words\x00\x01\x02", "notes.txt", "binary"),
        ("café au lait".encode("latin-1"), "menu.md", "not UTF-8"),
        (b"\xff\xfeh\x00i\x00", "windows.txt", "binary"),  # UTF-16: strict, refused
        (make_encrypted_pdf(["secret plans"]), "report.pdf", "password-protected"),
        (b"%PDF-1.7\nthis is not a PDF body at all", "broken.pdf", "damaged"),
        (make_pdf(PAGES)[:300], "cut.pdf", "damaged"),
        (make_page_bomb(100_000), "bomb.pdf", "more than 1000 pages"),
        (make_page_bomb(5000, claimed_count=1), "liar.pdf", "more than 1000 pages"),
        (make_scanned_pdf(), "scan.pdf", "no text I can read"),
        (make_pdf(["", " "]), "blank.pdf", "no text I can read"),
        (b" \n\t\r\n  \n", "blank.md", "no text I can read"),
        (b"\x01\x02\x03", "controls.txt", "no text I can read"),
        (b"%PDF-1.7", "holiday.jpg", "not a PDF, Markdown or text file"),
    ],
)
def test_a_file_that_cannot_be_knowledge_is_refused_with_its_name_and_why(
    data: bytes, name: str, problem: str
) -> None:
    mimetype = "application/pdf" if name == "scan" else "application/octet-stream"
    with pytest.raises(FileRefused) as refused:
        extract(data, name, mimetype, LIMITS)
    reason = str(refused.value)
    assert reason.startswith(name + " ") and problem in reason and reason.endswith(".")


def test_a_flate_bomb_is_refused_as_too_big_inside() -> None:
    started = time.monotonic()
    with pytest.raises(FileRefused, match=r"^bomb\.pdf .*unpack to an unreasonable size"):
        extract(make_flate_bomb(100), "bomb.pdf", "application/pdf", LIMITS)
    assert time.monotonic() - started < 5


def test_a_pdf_is_read_page_by_page_with_its_whitespace_tidied() -> None:
    extracted = extract(make_pdf(PAGES), "report.pdf", "application/pdf", LIMITS)
    assert (extracted.kind, extracted.pages, extracted.truncated) == ("pdf", 3, False)
    assert [(s.location, s.text) for s in extracted.sections] == [
        ("page 1", "Introduction\nThe first page."),
        ("page 2", "Second page with spaces."),
        ("page 3", "The end."),
    ]


def test_the_test_pdfs_are_well_formed(caplog: pytest.LogCaptureFixture) -> None:
    """make_pdf writes what pypdf reads strictly and without a warning (so a refusal in
    these tests is the hostile part, not the test file)."""
    reader = PdfReader(io.BytesIO(make_pdf(PAGES)), strict=True)
    assert [page.extract_text().strip() for page in reader.pages] == PAGES
    assert [record for record in caplog.records if record.name.startswith("pypdf")] == []


def test_a_blank_page_is_counted_but_gives_no_section() -> None:
    extracted = extract(make_pdf(["One.", "", "Three."]), "gaps.pdf", "", LIMITS)
    assert extracted.pages == 3
    assert [s.location for s in extracted.sections] == ["page 1", "page 3"]


def test_a_pdf_with_only_an_owner_password_is_read() -> None:
    data = make_encrypted_pdf(["Anyone may read this."], user_password="")
    assert extract(data, "open.pdf", "", LIMITS).sections[0].text == "Anyone may read this."


def test_the_page_limit_is_inclusive() -> None:
    assert extract(make_pdf(PAGES), "three.pdf", "", ExtractLimits(max_pages=3)).pages == 3
    with pytest.raises(FileRefused, match="more than 2 pages"):
        extract(make_pdf(PAGES), "three.pdf", "", ExtractLimits(max_pages=2))


def test_a_pdf_past_the_character_limit_is_cut_and_marked() -> None:
    extracted = extract(_big_pdf(20), "long.pdf", "", ExtractLimits(max_chars=5000))
    assert extracted.truncated and extracted.pages == 20
    assert sum(len(s.text) for s in extracted.sections) <= 5000
    assert len(extracted.sections) < 20  # pages past the limit are not read


def test_markdown_is_cut_into_sections_by_heading() -> None:
    markdown = (
        "\ufeffSome words before any heading.\n\n"
        "# Setup ##\nRun   `make`.\n\n\n\n"
        "```sh\n# not a heading, a shell comment\n```\n"
        "    # indented code, not a heading\n"
        "#hashtag is not a heading\n"
        "####### nor are seven hashes\n"
        "## Usage\r\nAsk the bot.\r\n"
        "## " + "Long " * 40 + "\nBody.\n"
    )
    extracted = extract(markdown.encode(), "guide.md", "text/markdown", LIMITS)
    assert extracted.kind == "markdown" and extracted.pages == 4 and not extracted.truncated
    locations = [s.location for s in extracted.sections]
    assert locations[:3] == ["the start", "section Setup", "section Usage"]
    assert locations[3].startswith("section Long Long") and len(locations[3]) <= len("section ") + 100
    setup = extracted.sections[1].text
    assert setup.startswith("# Setup ##\nRun `make`.\n\n```sh\n# not a heading")
    assert "#hashtag" in setup and "seven hashes" in setup
    assert extracted.sections[2].text == "## Usage\nAsk the bot."


def test_a_short_text_is_one_section_and_a_long_one_is_in_parts() -> None:
    short = extract(b"Hello\r\n\r\n\r\nworld", "hi.txt", "text/plain", LIMITS)
    assert [(s.location, s.text) for s in short.sections] == [("the text", "Hello\n\nworld")]
    lines = "\n".join(f"line {i}" + ("\n" if i % 10 == 9 else "") for i in range(100))
    long = extract(lines.encode(), "log.txt", "text/plain", LIMITS)
    assert [s.location for s in long.sections] == [f"part {n}" for n in range(1, len(long.sections) + 1)]
    assert long.pages == len(long.sections) >= 3
    assert all(len(s.text.split("\n")) <= 40 for s in long.sections)
    assert all(s.text.endswith("9") for s in long.sections[:-1])  # cut at paragraph breaks


def test_text_past_the_character_limit_is_cut_and_marked() -> None:
    extracted = extract(("word " * 10_000).encode(), "many.txt", "", ExtractLimits(max_chars=1000))
    assert extracted.truncated and sum(len(s.text) for s in extracted.sections) <= 1000
    exact = extract(b"x" * 1000, "exact.txt", "", ExtractLimits(max_chars=1000))
    assert not exact.truncated


def test_a_reason_shows_a_hostile_name_on_one_line_and_cut_short() -> None:
    name = "evil\n\n@room everyone look " + "x" * 500 + ".txt"
    with pytest.raises(FileRefused) as refused:
        extract(b"", name, "", LIMITS)
    reason = str(refused.value)
    assert "\n" not in reason and reason.startswith("evil @room everyone look xxx")
    assert len(reason) < 150 and reason.endswith("… is empty.")
    with pytest.raises(FileRefused, match=r"^That file is empty\.$"):
        extract(b"", "  ", "text/plain", LIMITS)


@pytest.mark.parametrize(
    ("name", "mimetype", "kind"),
    [
        ("report.pdf", "application/pdf", "pdf"),
        ("REPORT.PDF", "", "pdf"),
        ("notes.md", "text/plain", "markdown"),  # the extension wins over the mimetype
        ("notes.markdown", "", "markdown"),
        ("notes.txt", "application/octet-stream", "text"),
        ("notes.txt", "application/pdf", "text"),
        ("README", "text/markdown; charset=utf-8", "markdown"),  # no extension: the mimetype
        ("scan", "Application/PDF", "pdf"),
        ("draft", "text/x-markdown", "markdown"),
        ("letter", "text/plain", "text"),
        ("holiday.jpg", "text/plain", None),  # another extension: not ours, whatever it claims
        ("table.csv", "text/csv", None),
        ("letter.docx", "application/pdf", None),
        ("archive", "application/zip", None),
        ("", "", None),
    ],
)
def test_the_kind_a_file_claims(name: str, mimetype: str, kind: str | None) -> None:
    assert document_kind(name, mimetype) == kind


def _check(data: bytes, name: str) -> None:
    """Read or refused, never another error; what is read holds the promises: sections
    of tidy text, within the character limit."""
    try:
        extracted = extract(data, name, "", ExtractLimits(max_pages=50, max_chars=10_000))
    except FileRefused as refused:
        assert str(refused).startswith(name + " ")
        return
    sections = extracted.sections
    assert sections and sum(len(s.text) for s in sections) <= 10_000
    assert all(s.text and s.text == s.text.strip() and "\x00" not in s.text for s in sections)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000), name=st.sampled_from(["f.pdf", "f.md", "f.txt"]))
def test_any_bytes_are_read_or_refused_never_an_error(data: bytes, name: str) -> None:
    _check(data, name)


@settings(max_examples=300, deadline=None)
@given(rest=st.binary(max_size=2000))
def test_any_bytes_after_a_pdf_header_are_read_or_refused(rest: bytes) -> None:
    _check(b"%PDF-1.7\n" + rest, "f.pdf")


SAMPLE_PDF = make_pdf(PAGES)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(0, len(SAMPLE_PDF) - 1), st.integers(0, 255)), max_size=8),
    cut=st.integers(9, len(SAMPLE_PDF)),
)
def test_a_damaged_real_pdf_is_read_or_refused(changes: list[tuple[int, int]], cut: int) -> None:
    damaged = bytearray(SAMPLE_PDF)
    for position, value in changes:
        damaged[position] = value
    _check(bytes(damaged[:cut]), "f.pdf")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=500))
def test_any_text_file_is_read_or_refused(text: str) -> None:
    for name in ("f.md", "f.txt"):
        _check(text.encode(), name)


# In the worker process.


@pytest.fixture(scope="module")
def extractor() -> Iterator[Extractor]:
    worker = Extractor(timeout_s=30)
    yield worker
    worker.close()


async def test_bombs_are_refused_by_the_worker_in_bounded_time(extractor: Extractor) -> None:
    for data, name, reason in [
        (make_flate_bomb(300), "flate.pdf", "unreasonable size"),
        (make_page_bomb(100_000), "pages.pdf", "more than 1000 pages"),
    ]:
        started = time.monotonic()
        with pytest.raises(FileRefused, match=reason):
            await extractor.extract(data, name, "application/pdf", LIMITS)
        assert time.monotonic() - started < 20


async def test_the_loop_keeps_ticking_while_a_big_pdf_is_read(extractor: Extractor) -> None:
    worst_lag = 0.0

    async def tick() -> None:
        nonlocal worst_lag
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.005)
            worst_lag = max(worst_lag, time.monotonic() - before - 0.005)

    big = _big_pdf(300)  # made before the ticker starts: making it is not the loop's lag
    ticker = asyncio.create_task(tick())
    try:
        extracted = await extractor.extract(big, "big.pdf", "application/pdf", LIMITS)
    finally:
        ticker.cancel()
    assert extracted.pages == 300 and len(extracted.sections) == 300
    assert worst_lag < 0.1


async def test_a_file_past_the_time_limit_is_refused_and_the_next_is_read() -> None:
    assert STREAM_BYTES > 15 * 2**20  # so this is slow to read, not refused for its size
    slow = make_flate_bomb(15)  # seconds of parsing spaces
    extractor = Extractor(timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(FileRefused, match=r"^slow\.pdf took too long to read"):
            await extractor.extract(slow, "slow.pdf", "application/pdf", LIMITS)
        assert time.monotonic() - started < 20
        after = await extractor.extract(b"Still here.", "next.txt", "text/plain", LIMITS)
        assert after.sections[0].text == "Still here."
    finally:
        extractor.close()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> set[int]:
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


async def _reading_slowly(extractor: Extractor, name: str) -> tuple[asyncio.Future[Extracted], int]:
    """A slow file being read (its worker has spent a fifth of a second on it), and the pid
    of that worker; `extractor` must be new, with one worker, started by a first file."""
    others = _children()
    await extractor.extract(b"warm up", "warm.txt", "", LIMITS)
    (worker,) = _children() - others
    idle = _cpu_seconds(worker)
    reading = asyncio.ensure_future(extractor.extract(make_flate_bomb(15), name, "", LIMITS))
    while _cpu_seconds(worker) < idle + 0.2 and not reading.done():
        await asyncio.sleep(0.01)
    return reading, worker


async def test_a_worker_killed_mid_file_costs_that_file_and_the_next_is_read() -> None:
    extractor = Extractor(timeout_s=30)
    try:
        reading, worker = await _reading_slowly(extractor, "victim.pdf")
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(FileRefused, match=r"^victim\.pdf could not be read safely"):
            await reading
        after = await extractor.extract(b"# Next\nread.", "next.md", "", LIMITS)
        assert after.sections[0].location == "section Next"
    finally:
        extractor.close()


async def test_a_reader_who_goes_away_stops_the_work() -> None:
    extractor = Extractor(timeout_s=30)
    try:
        reading, worker = await _reading_slowly(extractor, "abandoned.pdf")
        reading.cancel()
        deadline = time.monotonic() + 10
        while worker in _children():  # the worker is stopped, not left to finish the file
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert (await extractor.extract(b"Next.", "next.txt", "", LIMITS)).sections[0].text == "Next."
    finally:
        extractor.close()


async def test_a_file_too_big_for_the_worker_is_refused_and_the_next_is_read() -> None:
    """The worker dies taking the file in, before it starts on it; pebble gives such a pool
    up for good, so without a new pool every later file would fail too."""
    extractor = Extractor(timeout_s=30, memory_mb=64)
    try:
        with pytest.raises(FileRefused, match=r"^huge\.txt could not be read safely"):
            await extractor.extract(b"x" * (80 * 1024 * 1024), "huge.txt", "text/plain", LIMITS)
        after = await extractor.extract(b"Small.", "small.txt", "text/plain", LIMITS)
        assert after.sections[0].text == "Small."
    finally:
        extractor.close()

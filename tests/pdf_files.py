"""Test data: small PDFs written by hand (no PDF library), for the knowledge tests and
benchmarks. `make_pdf` writes a well-formed file (Helvetica text, a correct xref) that
pypdf reads without a warning; the other makers write the hostile ones: encrypted, a page
tree claiming a hundred thousand pages, a content stream that inflates to hundreds of
megabytes, a scanned page with no text."""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

from pypdf import PdfReader, PdfWriter

LINE_HEIGHT = 14
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def _literal(text: str) -> bytes:
    """A PDF string literal: backslashes and brackets escaped, Windows-1252 bytes."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252", errors="replace") + b")"


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), extra, content)


def _text_content(text: str) -> bytes:
    """Draws each line of `text` below the one before, from the top left of a Letter page."""
    lines = [_literal(line) + b" Tj T*" for line in text.split("\n")]
    return b"BT /F1 12 Tf %d TL 72 720 Td\n%s\nET" % (LINE_HEIGHT, b"\n".join(lines))


def _document(objects: list[bytes]) -> bytes:
    """A complete file from numbered objects (object 1 is the catalog): header, bodies,
    xref with the byte offset of every object, and trailer."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref_at = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at))
    return out.getvalue()


def _pages_with(contents: list[bytes], resources: bytes = b"<< /Font << /F1 3 0 R >> >>") -> bytes:
    """Catalog (1), page tree (2), font (3), then a page and its content stream for each."""
    count = len(contents)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        FONT,
    ]
    for i, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>"
            % (resources, 5 + 2 * i)
        )
        objects.append(content)
    return _document(objects)


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per string; a newline in a string starts a new line on the page."""
    return _pages_with([_stream(_text_content(text)) for text in pages])


def make_encrypted_pdf(
    pages: list[str], user_password: str = "secret", owner_password: str = "owner-secret"
) -> bytes:
    """`make_pdf`, encrypted with AES-256 by pypdf. An empty `user_password` makes a file
    anyone may open (only changing it needs the owner password)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(pages))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_page_bomb(pages: int, claimed_count: int | None = None) -> bytes:
    """A few hundred bytes whose page tree holds `pages` pages: one /Pages node lists
    another node many times, and that one lists the same page many times (the page and its
    one content stream are shared). `claimed_count` makes /Count lie about the total."""
    fanout = max(1, int(pages**0.5))
    leaves, rest = divmod(pages, fanout)
    top_kids = [b"4 0 R"] * leaves + [b"6 0 R"] * rest
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(top_kids), claimed_count or pages),
        FONT,
        b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (b" ".join([b"6 0 R"] * fanout), fanout),
        _stream(_text_content("The same page again.")),
        b"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
    ]
    return _document(objects)


def _deflated(head: bytes, spaces_mb: int, tail: bytes) -> Iterator[bytes]:
    """zlib output for `head`, `spaces_mb` MB of spaces and `tail`, a megabyte at a time."""
    compressor = zlib.compressobj(9)
    yield compressor.compress(head)
    block = b" " * (1024 * 1024)
    for _ in range(spaces_mb):
        yield compressor.compress(block)
    yield compressor.compress(tail)
    yield compressor.flush()


def make_flate_bomb(decompressed_mb: int) -> bytes:
    """One page whose content stream is a few hundred kilobytes of FlateDecode that inflate
    to `decompressed_mb` MB: a line of text drawn between megabytes of spaces."""
    text = _text_content("Bomb ahead.")
    compressed = b"".join(_deflated(text[:-2], decompressed_mb, text[-2:]))  # the spaces before ET
    return _pages_with([_stream(compressed, b" /Filter /FlateDecode")])


def make_scanned_pdf() -> bytes:
    """One page that shows a small grey image and has no text at all, as a scanner makes."""
    pixels = bytes(range(64)) * 64
    image = _stream(
        pixels,
        b" /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8",
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        image,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 3 0 R >> >> /Contents 5 0 R >>",
        _stream(b"q 540 0 0 720 36 36 cm /Im1 Do Q"),
    ]
    return _document(objects)

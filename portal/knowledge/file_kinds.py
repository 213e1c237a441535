"""Which files a room's knowledge takes from the portal: PDF, plain text and Markdown,
told by the name's extension and confirmed by the content as it streams in (a PDF has
`%PDF-` in its first kilobyte, as readers require; text is UTF-8 without NUL bytes).
Pure: no I/O."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import PurePosixPath

from portal.knowledge import strings
from portal.uploads import UploadRefused

PDF_MARK = b"%PDF-"
PDF_MARK_WITHIN = 1024  # bytes: where readers look for the header
PDF_HEAD = PDF_MARK_WITHIN + len(PDF_MARK) - 1  # a mark that starts within them ends within these


@dataclass(frozen=True)
class FileKind:
    extension: str
    mimetype: str
    pdf: bool = False


KINDS = {
    kind.extension: kind
    for kind in (
        FileKind(".pdf", "application/pdf", pdf=True),
        FileKind(".txt", "text/plain"),
        FileKind(".md", "text/markdown"),
    )
}
# The file field's `accept`: the browser offers these first (the server decides).
ACCEPT = ",".join([*KINDS, *(kind.mimetype for kind in KINDS.values())])


def kind_of(name: str) -> FileKind | None:
    """The kind a file name says, by its extension (any case); None for any other."""
    return KINDS.get(PurePosixPath(name).suffix.lower())


class ContentCheck:
    """Sees an upload chunk by chunk (`portal.uploads.receive`'s `inspect`) and refuses it
    (UploadRefused) as soon as the content is not what its name says; `finish` once the
    whole file was seen."""

    def __init__(self, kind: FileKind, name: str) -> None:
        self._kind = kind
        self._name = name
        self._head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")

    def __call__(self, chunk: bytes) -> None:
        if not self._kind.pdf:
            self._text(chunk, final=False)
        elif len(self._head) < PDF_HEAD:
            self._head = (self._head + chunk)[:PDF_HEAD]
            if len(self._head) == PDF_HEAD:
                self._pdf_mark()

    def finish(self) -> None:
        if self._kind.pdf:
            self._pdf_mark()
        else:
            self._text(b"", final=True)

    def _pdf_mark(self) -> None:
        if PDF_MARK not in self._head:
            raise UploadRefused(strings.NOT_A_PDF.format(name=self._name))

    def _text(self, chunk: bytes, final: bool) -> None:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise UploadRefused(strings.NOT_TEXT.format(name=self._name)) from None
        if "\x00" in text:
            raise UploadRefused(strings.NOT_TEXT.format(name=self._name))

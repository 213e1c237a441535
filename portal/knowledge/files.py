"""A room's knowledge files as the page shows them: the state in plain words (the same
words as the bot's `!docs`), who posted it, and whether this person may delete it. The
files themselves are the knowledge store's (appdb.knowledge); the rule for who may
delete one is `may_delete`, used by the page and by the delete itself."""

from __future__ import annotations

from dataclasses import dataclass

from appdb.knowledge import FileState
from appdb.models import KNOWLEDGE_FAILED, KNOWLEDGE_INDEXING, KNOWLEDGE_QUEUED, KNOWLEDGE_READY
from portal.knowledge import strings
from portal.knowledge.file_kinds import kind_of


@dataclass(frozen=True)
class FileRow:
    event_id: str
    name: str
    state: str  # queued, indexing, ready, failed (for the page's style)
    status: str  # the state in words
    posted_by: str
    deletable: bool


def may_delete(file: FileState, me: str, moderator: bool) -> bool:
    """The one who posted it, or a moderator of its room (the homeserver checks again)."""
    return file.uploader == me or moderator


def row(file: FileState, me: str, moderator: bool) -> FileRow:
    return FileRow(
        event_id=file.event_id,
        name=file.name,
        state=file.state,
        status=status_words(file),
        posted_by=strings.YOU if file.uploader == me else file.uploader,
        deletable=may_delete(file, me, moderator),
    )


def status_words(file: FileState) -> str:
    if file.state == KNOWLEDGE_QUEUED:
        return strings.QUEUED
    if file.state == KNOWLEDGE_INDEXING:
        return strings.INDEXING.format(progress=max(0, min(100, file.progress)))
    if file.state == KNOWLEDGE_READY:
        return strings.READY.format(size=_size(file), chunks=_count(file.chunks, "passage"))
    if file.state == KNOWLEDGE_FAILED:
        return strings.FAILED.format(reason=file.reason) if file.reason else strings.FAILED_NO_REASON
    return strings.UNKNOWN_STATE.format(state=file.state)


def _size(file: FileState) -> str:
    """`12 pages` for a PDF, `3 sections` for text, as the bot counts them."""
    kind = kind_of(file.name)
    return _count(file.pages, "page" if kind is not None and kind.pdf else "section")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"

"""A file's sections cut into chunks small enough to embed and to quote in a prompt. A chunk
keeps its section's location and never crosses into the next section; it ends at a
paragraph break, a line break, a sentence end or a space, in that order of preference,
and only cuts a word that is longer than a chunk. Consecutive chunks of one section share
about `overlap_chars` characters, so a sentence cut at a chunk's end is whole in the next."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bot.knowledge.extract import Section

SENTENCE_ENDS = ".!?"
CLOSERS = "\"')]”’»"  # may stand between a sentence's end and the space after it


@dataclass(frozen=True)
class ChunkText:
    location: str
    text: str


def split_into_chunks(
    sections: Sequence[Section], chunk_chars: int = 1200, overlap_chars: int = 150
) -> list[ChunkText]:
    """Every section's text, in order, as chunks of at most `chunk_chars` characters."""
    if chunk_chars < 2 or not 0 <= overlap_chars <= chunk_chars // 2:
        raise ValueError(f"chunks of {chunk_chars} characters cannot overlap by {overlap_chars}")
    return [
        ChunkText(section.location, piece)
        for section in sections
        for piece in split_text(section.text, chunk_chars, overlap_chars)
    ]


def split_text(text: str, size: int, overlap: int) -> Iterator[str]:
    text = text.strip()
    start = 0
    while start < len(text):
        if len(text) - start <= size:
            yield text[start:]
            return
        cut = _cut(text, start, start + size)
        yield text[start:cut].rstrip()
        # A chunk cut short (before a word longer than half a chunk) is not overlapped: the
        # next one would start inside it again and again, one word later each time.
        start = _next_start(text, start, cut, overlap if cut - start >= size // 2 else 0)


def _cut(text: str, start: int, end: int) -> int:
    """Where the chunk starting at `start` ends (at most `end`, which is inside the text):
    the best break in the chunk's second half, else the last space, else `end`."""
    half = start + (end - start) // 2
    for found in (
        text.rfind("\n\n", half, end + 1),
        text.rfind("\n", half, end + 1),
        _last(text, half, end + 1, _after_sentence),
        _last(text, half, end + 1, _is_space),
        _last(text, start + 1, half, _is_space),
    ):
        if found > start:
            return found
    return end  # one word longer than a chunk


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """The next chunk's first character: the first sentence, else the first word, that
    begins within `overlap` characters before `cut`; else the first word after `cut`."""
    low = max(cut - overlap, start + 1)
    space = _first(text, low, cut, _after_sentence)
    if space == -1:
        space = _first(text, low, cut, _is_space)
    following = cut if space == -1 else space
    while following < len(text) and text[following].isspace():
        following += 1
    return following


def _is_space(text: str, i: int) -> bool:
    return text[i].isspace()


def _after_sentence(text: str, i: int) -> bool:
    """A space after a sentence's end ("done. ", "done.) ", "done!” ")."""
    if not text[i].isspace():
        return False
    end = i - 2 if text[i - 1] in CLOSERS else i - 1
    return end >= 0 and text[end] in SENTENCE_ENDS


def _last(text: str, low: int, high: int, wanted: Callable[[str, int], bool]) -> int:
    for i in range(high - 1, low - 1, -1):
        if wanted(text, i):
            return i
    return -1


def _first(text: str, low: int, high: int, wanted: Callable[[str, int], bool]) -> int:
    for i in range(low, high):
        if wanted(text, i):
            return i
    return -1

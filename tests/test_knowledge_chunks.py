"""Sections cut into chunks: no chunk is longer than the limit, none is empty, none mixes
two sections, no word that fits in a chunk is cut, nothing is lost or reordered; checked on
prose, on hostile shapes (a word longer than a chunk, short words before one) and on
whatever Hypothesis makes."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge.chunks import ChunkText, split_into_chunks
from bot.knowledge.extract import Section

PROSE = " ".join(
    f"Sentence {i} tells the reader something new about the system." + ("\n\n" if i % 6 == 5 else "")
    for i in range(120)
)


def _in_order(text: str, chunks: list[ChunkText]) -> bool:
    """Every chunk is found in `text` after where the one before it starts."""
    position = -1
    for chunk in chunks:
        position = text.find(chunk.text, position + 1)
        if position == -1:
            return False
    return True


def test_a_short_section_is_one_chunk_with_its_location() -> None:
    chunks = split_into_chunks([Section("page 1", "  Hello there.  "), Section("page 2", "Bye.")])
    assert chunks == [ChunkText("page 1", "Hello there."), ChunkText("page 2", "Bye.")]


def test_prose_is_cut_at_sentence_ends_and_consecutive_chunks_overlap() -> None:
    chunks = split_into_chunks([Section("section Intro", PROSE)], chunk_chars=400, overlap_chars=100)
    assert len(chunks) > 5
    for before, after in pairwise(chunks):
        assert len(before.text) <= 400
        assert before.text.endswith(".")  # a sentence end (or a paragraph's) was near enough
        assert after.text.startswith("Sentence")  # the overlap starts a sentence, not mid-word
        shared = max(n for n in range(len(after.text) + 1) if before.text.endswith(after.text[:n]))
        assert 0 < shared <= 100
    assert _in_order(PROSE, chunks)


def test_a_paragraph_break_is_preferred_to_a_sentence_end() -> None:
    text = "First paragraph, first sentence. Second sentence.\n\n" + "Next paragraph goes on. " * 10
    chunks = split_into_chunks([Section("the text", text)], chunk_chars=80, overlap_chars=0)
    assert chunks[0].text == "First paragraph, first sentence. Second sentence."


def test_a_word_longer_than_a_chunk_is_cut_into_pieces_that_rebuild_it() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(5000))
    chunks = split_into_chunks([Section("page 1", word)], chunk_chars=300, overlap_chars=50)
    assert all(len(chunk.text) <= 300 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks) == word  # cut, not overlapped


def test_short_words_before_a_long_word_do_not_multiply_the_chunks() -> None:
    """The attack: a few short words, then a word of almost a chunk, again and again. Each
    short run must become one chunk, not one chunk per word with the rest overlapped."""
    unit = "a b c d e f " + "x" * 1195 + " "
    chunks = split_into_chunks([Section("the text", unit * 200)], chunk_chars=1200, overlap_chars=150)
    assert len(chunks) <= 2 * 200 + 1


def test_blank_sections_give_no_chunks() -> None:
    assert split_into_chunks([Section("page 1", ""), Section("page 2", " \n\n \t")]) == []


@pytest.mark.parametrize(("chunk_chars", "overlap_chars"), [(0, 0), (1, 0), (100, 51), (100, -1)])
def test_settings_that_cannot_work_are_refused(chunk_chars: int, overlap_chars: int) -> None:
    with pytest.raises(ValueError):
        split_into_chunks([Section("page 1", "text")], chunk_chars, overlap_chars)


WORD_CHARS = st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"))
words = st.one_of(
    st.text(WORD_CHARS, min_size=1, max_size=12),
    st.sampled_from(["end.", "end!", "said.”", "(aside.)", "?"]),
    st.text(WORD_CHARS, min_size=40, max_size=400),  # longer than some chunks
)
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\u00a0", " \n \n "])
texts = st.lists(st.tuples(words, separators), max_size=80).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


@settings(max_examples=300, deadline=None)
@given(
    section_texts=st.lists(texts, min_size=1, max_size=4),
    chunk_chars=st.integers(min_value=20, max_value=300),
    overlap_share=st.floats(min_value=0, max_value=0.5),
)
def test_any_text_is_chunked_within_the_limit_keeping_every_word_and_the_order(
    section_texts: list[str], chunk_chars: int, overlap_share: float
) -> None:
    overlap_chars = int(chunk_chars * overlap_share)
    sections = [Section(f"part {i}", text) for i, text in enumerate(section_texts, start=1)]
    chunks = split_into_chunks(sections, chunk_chars, overlap_chars)

    assert all(0 < len(chunk.text) <= chunk_chars for chunk in chunks)
    assert all(chunk.text == chunk.text.strip() for chunk in chunks)
    numbers = [int(chunk.location.removeprefix("part ")) for chunk in chunks]
    assert numbers == sorted(numbers)  # sections in order, never interleaved
    for section in sections:
        own = [chunk for chunk in chunks if chunk.location == section.location]
        assert bool(own) == bool(section.text.strip())
        assert _in_order(section.text, own)
        for word in section.text.split():
            if len(word) <= chunk_chars:
                assert any(word in chunk.text for chunk in own), word

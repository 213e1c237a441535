"""How an answer shows what the room's files said: the pure part of the lookup. The
passages go to the model inside one <files> block that no file can close early; the
sources under the answer are the passages the model cited (all of them when it cites
none), each a link to the file's message that no file name can break out of; "nothing
relevant" is said only when the files were searched; files still being read are named."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from appdb.knowledge import Found
from bot import strings
from bot.knowledge.lookup import INSTRUCTIONS, NOTHING_FOUND, STILL_READING, RoomKnowledge

ROOM = "!club:localhost"


def _hit(n: int, name: str = "rules.md", text: str = "members pay dues") -> Found:
    return Found(f"$file{n}", name, f"section {n}", text, 0.9)


def test_the_sources_are_the_passages_the_answer_cites() -> None:
    knowledge = RoomKnowledge(ROOM, [_hit(1), _hit(2), _hit(3)], searched=True, server="localhost")
    shown = knowledge.shape("Dues are paid in March [2].")
    assert shown.startswith("Dues are paid in March [2].")
    assert "2. [rules.md, section 2](https://matrix.to/#/%21club%3Alocalhost/%24file2?via=localhost)" in shown
    assert "section 1" not in shown and "section 3" not in shown


def test_an_answer_citing_nothing_lists_every_passage_it_was_given() -> None:
    shown = RoomKnowledge(ROOM, [_hit(1), _hit(2)], searched=True).shape("In March.")
    assert "1. [rules.md, section 1]" in shown and "2. [rules.md, section 2]" in shown


def test_nothing_relevant_is_said_only_after_a_search() -> None:
    searched = RoomKnowledge(ROOM, [], searched=True)
    assert searched.shape("No idea.").endswith(strings.KNOWLEDGE_NOTHING_RELEVANT)
    assert searched.instructions() == NOTHING_FOUND
    waiting = RoomKnowledge(ROOM, [], pending=["big.pdf"])
    assert strings.KNOWLEDGE_NOTHING_RELEVANT not in waiting.shape("No idea.")
    assert "Still being read: big.pdf" in waiting.shape("No idea.")
    assert waiting.instructions() == STILL_READING
    assert RoomKnowledge(ROOM, [_hit(1)], searched=True).instructions() == INSTRUCTIONS


def test_the_model_gets_the_question_and_numbered_passages() -> None:
    knowledge = RoomKnowledge(ROOM, [_hit(1, text="first"), _hit(2, text="second")], searched=True)
    text = knowledge.question_for_model("when?")
    assert (
        text
        == "when?\n\n<files>\n[1] rules.md, section 1:\nfirst\n\n[2] rules.md, section 2:\nsecond\n</files>"
    )
    assert RoomKnowledge(ROOM, [], searched=True).question_for_model("when?") == "when?"


@given(name=st.text(max_size=60), text=st.text(max_size=300))
def test_no_file_can_close_the_passages_or_break_its_source_link(name: str, text: str) -> None:
    knowledge = RoomKnowledge(ROOM, [Found("$f", name, "page 1", text, 0.9)], searched=True)
    sent = knowledge.question_for_model("q")
    assert sent.count("<files>") == 1 and sent.count("</files>") == 1
    assert sent.endswith("</files>")
    footer = knowledge.footer("answer [1]")
    [line] = [line for line in footer.splitlines() if line.startswith("1. ")]
    assert re.fullmatch(r"1\. \[[^\[\]\n\\]*\]\(https://matrix\.to/#/[^)\s]+\)", line), line

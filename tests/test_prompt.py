"""What the model receives: system prompt, history trimmed to the budget in whole turns,
then the new message."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.prompt import ImageInput, build_prompt, cut_input, history_messages


def _turns(count: int, size: int = 400) -> list[tuple[str, str]]:
    rows = []
    for i in range(count):
        rows += [("human", f"q{i} " + "x" * size), ("ai", f"a{i} " + "y" * size)]
    return rows


def test_small_history_is_kept_whole() -> None:
    prompt = build_prompt("sys", history_messages(_turns(2, 10)), "new?", max_context_tokens=4096)
    assert isinstance(prompt[0], SystemMessage)
    assert [type(m) for m in prompt[1:]] == [HumanMessage, AIMessage, HumanMessage, AIMessage, HumanMessage]
    assert prompt[-1].content == "new?"


def test_long_history_keeps_the_newest_whole_turns_within_budget() -> None:
    prompt = build_prompt("sys", history_messages(_turns(50)), "new?", max_context_tokens=1000)
    history = prompt[1:-1]
    assert history, "some history fits"
    assert isinstance(history[0], HumanMessage) and isinstance(history[-1], AIMessage)
    assert len(history) % 2 == 0
    assert history[-1].content.startswith("a49 ")  # the newest turn survives
    assert len(history) < 100


def test_no_room_for_history_still_sends_system_and_question() -> None:
    prompt = build_prompt("sys", history_messages(_turns(3)), "q" * 5000, max_context_tokens=256)
    assert len(prompt) == 2


def test_image_travels_with_the_question() -> None:
    prompt = build_prompt("sys", [], "what is this?", 4096, ImageInput(b"\x89PNG", "image/png"))
    parts = prompt[-1].content
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert parts[1]["image_url"].startswith("data:image/png;base64,")


def test_cut_input() -> None:
    assert cut_input("abc", 5) == ("abc", False)
    assert cut_input("abcdef", 5) == ("abcde", True)

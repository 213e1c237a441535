"""Streaming pacing: first words at once, edits at most once per interval and capped,
and a last edit that always holds the whole answer."""

from __future__ import annotations

from typing import Any

from bot.streaming import EditThrottle, ReplyTarget, StreamingReply


class RecordingSender:
    """Narrow fake: records what would be sent to Matrix."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.txns: list[str] = []

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        assert txn, "every message the bot streams has a transaction id"
        self.txns.append(txn)
        self.sent.append(content)
        return f"$event{len(self.sent)}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


TARGET = ReplyTarget("!room:localhost", "$question", "@alice:localhost")


async def test_first_text_is_posted_at_once_then_edits_are_paced() -> None:
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    text = ""
    for step in range(40):  # a word every 0.1 s for 4 s
        clock.now = step * 0.1
        text += f"w{step} "
        await reply.update(text.strip())
    await reply.finish(text.strip())

    assert sender.sent[0]["body"] == "w0"
    assert sender.sent[0]["m.relates_to"] == {"m.in_reply_to": {"event_id": "$question"}}
    edits = sender.sent[1:]
    assert 3 <= len(edits) <= 5  # about one a second, plus the final one
    assert all(e["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$event1"} for e in edits)
    assert edits[-1]["m.new_content"]["body"] == text.strip()
    assert edits[-1]["body"] == "* " + text.strip()


async def test_edit_cap_holds_but_the_final_edit_always_goes_out() -> None:
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=2), clock)
    for step in range(10):
        clock.now = float(step * 2)
        await reply.update("x" * (step + 1))
    await reply.finish("x" * 10)
    assert len(sender.sent) == 1 + 2 + 1
    assert sender.sent[-1]["m.new_content"]["body"] == "x" * 10


async def test_no_edit_when_the_final_text_is_already_shown() -> None:
    sender = RecordingSender()
    reply = StreamingReply(sender, TARGET, EditThrottle(), FakeClock())
    await reply.update("complete answer")
    await reply.finish("complete answer")
    assert len(sender.sent) == 1


async def test_thread_answers_stay_in_the_thread() -> None:
    target = ReplyTarget("!room:localhost", "$question", "@alice:localhost", thread_root="$root")
    content = target.reply("hi")
    assert content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": "$question"},
    }
    assert content["m.mentions"] == {"user_ids": ["@alice:localhost"]}


async def test_a_rerun_after_a_crash_reuses_the_same_transaction_ids() -> None:
    first, second = RecordingSender(), RecordingSender()
    for sender in (first, second):
        reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=0.0, max_edits=5), FakeClock())
        await reply.update("partial")
        await reply.update("partial answer")
        await reply.finish("partial answer, complete")
    assert first.txns == second.txns
    assert len(set(first.txns)) == len(first.txns)

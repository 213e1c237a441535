"""Streaming pacing: first words at once, edits at most once per interval and capped,
and a last edit that always holds the whole answer."""

from __future__ import annotations

import asyncio
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


async def test_a_long_answer_is_posted_after_the_first_interval_then_edited_at_that_pace() -> None:
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    text = ""
    for step in range(40):  # a word every 0.1 s for 4 s
        clock.now = step * 0.1
        text += f"w{step} "
        await reply.update(text.strip())
    await reply.finish(text.strip())

    first = sender.sent[0]
    assert first["body"].startswith("w0 ") and first["body"].endswith("w10")  # held for 1 s
    assert first["m.relates_to"] == {"m.in_reply_to": {"event_id": "$question"}}
    edits = sender.sent[1:]
    assert 3 <= len(edits) <= 4  # about one a second, plus the final one
    assert all(e["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$event1"} for e in edits)
    assert edits[-1]["m.new_content"]["body"] == text.strip()
    assert edits[-1]["body"] == "* " + text.strip()


async def test_an_answer_written_within_the_first_interval_is_one_write() -> None:
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    text = ""
    for step in range(9):  # a word every 0.1 s, done at 0.8 s
        clock.now = 2.0 + step * 0.1
        text += f"w{step} "
        await reply.update(text.strip())
    await reply.finish(text.strip())
    assert [content["body"] for content in sender.sent] == [text.strip()]


async def test_a_status_becomes_the_answer_by_an_edit() -> None:
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    await reply.show_status("The model is loading…")
    clock.now = 30.0
    await reply.update("Here it is")
    await reply.finish("Here it is")
    assert sender.sent[0]["msgtype"] == "m.notice" and sender.sent[0]["body"] == "The model is loading…"
    assert len(sender.sent) == 2
    assert sender.sent[1]["m.new_content"] == {
        **sender.sent[1]["m.new_content"],
        "msgtype": "m.text",
        "body": "Here it is",
    }


class SlowSender(RecordingSender):
    """Each send takes until the test lets it through, as a busy homeserver would."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, room_id: str, content: dict[str, Any], txn: str | None = None) -> str:
        self.started.set()
        await self.go.wait()
        return await super().send(room_id, content, txn)


async def test_a_status_cancelled_while_it_is_being_sent_is_still_replaced_by_the_answer() -> None:
    """The queue notice's task is cancelled when the question's turn comes; if its send
    was under way, the answer must edit that notice, not post a second message."""
    sender, clock = SlowSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    notice = asyncio.create_task(reply.show_status("2 questions ahead of yours"))
    await sender.started.wait()
    notice.cancel()
    finishing = asyncio.create_task(reply.finish("Here it is"))
    sender.go.set()
    await finishing
    assert [content["body"] for content in sender.sent] == ["2 questions ahead of yours", "* Here it is"]
    assert sender.sent[1]["m.relates_to"]["event_id"] == "$event1"


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


async def test_rendering_a_hostile_answer_near_the_size_limit_never_stalls_other_work() -> None:
    """Markdown built to be slow (30,000 emphasis openers) takes a tenth of a second or
    more to render; meanwhile everyone else's answers must go on: the loop stays free."""
    sender, clock = RecordingSender(), FakeClock()
    reply = StreamingReply(sender, TARGET, EditThrottle(min_interval=1.0, max_edits=10), clock)
    longest_gap = 0.0
    finished = asyncio.Event()

    async def other_work() -> None:
        nonlocal longest_gap
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not finished.is_set():
            await asyncio.sleep(0.005)
            longest_gap = max(longest_gap, loop.time() - last)
            last = loop.time()

    ticker = asyncio.create_task(other_work())
    await asyncio.sleep(0.02)
    await reply.finish("*a" * 30_000)
    finished.set()
    await ticker
    assert sender.sent and sender.sent[0]["body"].startswith("*a*a")
    assert longest_gap < 0.08, f"the loop was held for {longest_gap * 1000:.0f} ms"

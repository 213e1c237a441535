"""The benchmark's own tools (issue 13): the counting proxy's classification and
forwarding, reading a bot's answers from room events, an answer's timeline, and the
Ollama double's cap on requests served at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from bench.answers import follow
from bench.counting_proxy import Call, CountingProxy, classify, count_writes
from bench.writes import timeline
from tests.ollama_double import OllamaDouble

ROOM = "/_matrix/client/v3/rooms/!r:hs"
BOT = "@bot:hs"


@pytest.mark.parametrize(
    ("method", "path", "body", "kind"),
    [
        ("PUT", f"{ROOM}/send/m.room.message/t1", b'{"body": "hi"}', "message"),
        (
            "PUT",
            f"{ROOM}/send/m.room.message/t2",
            b'{"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}}',
            "edit",
        ),
        ("PUT", f"{ROOM}/send/m.room.message/t3", b'{"m.relates_to": {"m.in_reply_to": {}}}', "message"),
        ("PUT", f"{ROOM}/send/m.reaction/t4", b"{}", "other write"),
        ("PUT", f"{ROOM}/typing/{BOT}", b'{"typing": true, "timeout": 30000}', "typing on"),
        ("PUT", f"{ROOM}/typing/{BOT}", b'{"typing": false}', "typing off"),
        ("POST", f"{ROOM}/receipt/m.read/$e", b"{}", "receipt"),
        ("POST", f"{ROOM}/read_markers", b"{}", "receipt"),
        ("POST", "/_matrix/client/v3/join/!r:hs", b"{}", "other write"),
        ("GET", "/_matrix/client/v3/sync", b"", "sync"),
        ("GET", f"{ROOM}/event/$e", b"", "read"),
        ("PUT", f"{ROOM}/send/m.room.message/t5", b"not json", "message"),
    ],
)
def test_classify(method: str, path: str, body: bytes, kind: str) -> None:
    assert classify(method, path, body) == kind


async def test_proxy_forwards_streams_and_records() -> None:
    double = OllamaDouble(chunk_delay=0.05).start()
    try:
        with CountingProxy(double.base_url) as proxy:
            async with aiohttp.ClientSession() as session:
                chat = {"model": "llama3", "messages": [{"role": "user", "content": "a b c"}]}
                async with session.post(f"{proxy.url}/api/chat", json=chat) as response:
                    lines = [line async for line in response.content]
                async with session.put(f"{proxy.url}{ROOM}/typing/{BOT}", json={"typing": True}) as response:
                    assert response.status in {404, 405}  # the double is not a homeserver
                    await response.read()  # the call is complete only once its body is read
            calls = proxy.calls()
    finally:
        double.stop()
    assert len(lines) == 6  # "You said: a b c", word by word, then the closing line
    chat_call, typing_call = calls
    assert chat_call.path == "/api/chat" and typing_call.kind == "typing on"
    assert chat_call.started < chat_call.first_byte < chat_call.finished
    assert chat_call.finished - chat_call.first_byte >= 0.2  # streamed through, not buffered
    assert count_writes(calls) == {"other write": 1, "typing on": 1}  # a POST counts as a write


async def test_proxy_answers_502_when_the_target_is_down() -> None:
    with CountingProxy("http://127.0.0.1:9") as proxy:
        versions = f"{proxy.url}/_matrix/client/versions"
        async with aiohttp.ClientSession() as session, session.get(versions) as response:
            assert response.status == 502


def _message(event_id: str, body: str, *, reply_to: str = "", edits: str = "", notice: bool = False) -> Any:
    content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": body}
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    if edits:
        new = {"msgtype": "m.text", "body": body}
        content = {**new, "body": f"* {body}", "m.new_content": new}
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": edits}
    return {"type": "m.room.message", "sender": BOT, "event_id": event_id, "content": content}


def test_follow_reads_streamed_answers_notices_and_edits() -> None:
    events = [
        (1.0, _message("$a1", "w0 w1", reply_to="$q1")),  # first words, then the rest as an edit
        (1.5, {"type": "m.room.message", "sender": "@someone:hs", "content": {"body": "w0 w1 w2"}}),
        (2.0, _message("$a1e", "w0 w1 w2", edits="$a1")),
        (2.5, _message("$n2", "2 questions ahead of yours", reply_to="$q2", notice=True)),
        (3.0, _message("$a2", "w0 w1 w2", reply_to="$q2")),  # the notice stays; the answer is new
        (3.2, _message("$n3", "next is yours", reply_to="$q3", notice=True)),
        (4.0, _message("$n3e", "w0 w1 w2", edits="$n3")),  # the notice becomes the answer
        (4.5, _message("$x", "w0 w1 w2", reply_to="$other")),  # someone else's question
        (5.0, _message("$a4", "w0 w1 w2", reply_to="$q4")),
        (5.5, _message("$a4b", "w0 w1 w2", reply_to="$q4")),  # answered twice: wrong
    ]
    one, two, three, four, five = follow(events, ["$q1", "$q2", "$q3", "$q4", "$q5"], BOT, "w0 w1 w2")
    assert (one.first_seen, one.complete_seen, one.answers, one.notices) == (1.0, 2.0, 1, 0)
    assert (two.first_seen, two.complete_seen, two.answers, two.notices) == (3.0, 3.0, 1, 1)
    assert (three.first_seen, three.complete_seen, three.answers, three.notices) == (4.0, 4.0, 1, 0)
    assert (one.told_to_wait, two.told_to_wait, three.told_to_wait) == (False, True, True)
    assert four.answers == 2
    assert (five.first_seen, five.complete_seen, five.answers) == (None, None, 0)


def test_timeline_splits_an_answer_at_the_bot_s_calls() -> None:
    sync = "/_matrix/client/v3/sync"
    send = f"{ROOM}/send/m.room.message/t"
    homeserver = [
        Call("GET", sync, "sync", 0.0, 10.010, 10.012),  # an older long poll brings the question
        Call("PUT", f"{ROOM}/typing/{BOT}", "typing on", 10.020, 10.025, 10.026),
        Call("GET", f"{ROOM}/event/$e", "read", 10.021, 10.024, 10.024),
        Call("PUT", send, "message", 10.040, 10.060, 10.061),
        Call("GET", sync, "sync", 10.013, 10.070, 10.071),
    ]
    model = [Call("POST", "/api/chat", "other write", 10.030, 10.035, 10.038)]
    t = timeline(10.0, 0.08, homeserver, model)
    assert t.bot_synced == pytest.approx(0.012)
    assert (t.model_asked, t.model_words) == (pytest.approx(0.030), pytest.approx(0.035))
    assert (t.send_started, t.send_done, t.seen) == (pytest.approx(0.040), pytest.approx(0.060), 0.08)
    assert t.writes_before == ("typing on",) and t.reads_before == 1


async def test_double_serves_at_most_parallel_requests_in_arrival_order() -> None:
    double = OllamaDouble(first_chunk_delay=0.2, parallel=2).start()
    done: list[tuple[int, float]] = []
    try:
        async with aiohttp.ClientSession() as session:

            async def ask(i: int) -> None:
                await asyncio.sleep(0.01 * i)  # arrive in order
                chat = {"model": "llama3", "stream": False, "messages": [{"role": "user", "content": str(i)}]}
                async with session.post(f"{double.base_url}/api/chat", json=chat) as response:
                    assert response.status == 200
                done.append((i, time.monotonic()))

            started = time.monotonic()
            await asyncio.gather(*(ask(i) for i in range(5)))
    finally:
        double.stop()
    assert [i for i, _ in done] == [0, 1, 2, 3, 4]
    waves = [round((at - started) / 0.2) for _, at in done]
    assert waves == [1, 1, 2, 2, 3]  # two at a time, 0.2 s each
    assert double.most_at_once == 5  # all five were in progress, three of them waiting


async def test_double_without_a_cap_serves_everyone_at_once() -> None:
    double = OllamaDouble(first_chunk_delay=0.2).start()
    try:
        async with aiohttp.ClientSession() as session:

            async def ask() -> None:
                chat = {"model": "llama3", "stream": False, "messages": [{"role": "user", "content": "x"}]}
                async with session.post(f"{double.base_url}/api/chat", json=chat) as response:
                    assert response.status == 200

            started = time.monotonic()
            await asyncio.gather(*(ask() for _ in range(5)))
            assert time.monotonic() - started < 0.35
    finally:
        double.stop()

"""The assistant never loses or repeats an answer: bursts, crashes, outages, loops,
fairness and rate limits, through the real Synapse and the Ollama double."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

from tests.bot_process import BotProcess
from tests.conftest import BOT_RATE_LIMIT, UserFactory
from tests.matrix_user import AnswerView, MatrixUser, open_direct_chat, wait_for_answer, wait_until_member
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer


async def _replies_by_question(user: MatrixUser, room_id: str, bot_id: str, wanted: int, timeout: float = 60):
    """Sync until `wanted` distinct questions have a reply; returns reply counts per question."""
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    while len(counts) < wanted:
        assert time.monotonic() < deadline, f"only {len(counts)} of {wanted} questions answered"
        response = await user.sync(timeout_ms=3000)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            content = event.source.get("content", {})
            parent = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            if event.source.get("sender") == bot_id and parent:
                counts[parent] += 1
    return counts


async def test_a_burst_of_50_questions_gets_50_answers_each_exactly_once(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    users = [await make_user(f"burst{i}") for i in range(5)]
    room_id = await users[0].join(f"#public:{synapse.server_name}")
    for user in users[1:]:
        await user.join(room_id)
    observer = users[0]

    sends = [user.send(room_id, f"@bot question {u}-{i}") for i in range(10) for u, user in enumerate(users)]
    questions = await asyncio.gather(*sends)  # 50 at once: more than one sync timeline holds

    counts = await _replies_by_question(observer, room_id, bot_id, wanted=50)
    # A marker per user: its answer comes after any late duplicate in that conversation.
    markers = [await user.send(room_id, "@bot marker") for user in users]
    for user, marker in zip(users, markers, strict=True):
        await wait_for_answer(user, room_id, marker, bot_id, "You said: marker")
    counts.update(await _replies_by_question(observer, room_id, bot_id, wanted=0, timeout=1))
    assert set(questions) <= set(counts)
    assert all(counts[q] == 1 for q in questions), {q: n for q, n in counts.items() if n != 1}
    assert "filled a gap" in bot.logs()


async def test_two_users_stream_in_parallel(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice, bob = await make_user("alice"), await make_user("bob")
    room_a, _ = await open_direct_chat(alice, bot_id)
    room_b, _ = await open_direct_chat(bob, bot_id)
    ollama.chunk_delay = 0.2  # each answer takes about 2 s to write
    words = " ".join(f"w{i}" for i in range(10))
    ollama.reply = lambda request: words

    started = time.monotonic()
    qa, qb = await asyncio.gather(alice.send(room_a, "story please"), bob.send(room_b, "story please"))
    first_a, first_b = await asyncio.gather(
        wait_for_answer(alice, room_a, qa, bot_id), wait_for_answer(bob, room_b, qb, bot_id)
    )
    view_a, view_b = await asyncio.gather(
        wait_for_answer(alice, room_a, qa, bot_id, words, view=first_a),
        wait_for_answer(bob, room_b, qb, bot_id, words, view=first_b),
    )
    makespan = time.monotonic() - started

    # By the homeserver's own clock, which a busy test machine does not skew: each answer
    # began before the other one was finished.
    def began(view: AnswerView) -> int:
        assert view.reply is not None
        return int(view.reply["origin_server_ts"])

    def finished(view: AnswerView) -> int:
        return int((view.edits[-1] if view.edits else view.reply or {})["origin_server_ts"])

    assert began(view_b) < finished(view_a) and began(view_a) < finished(view_b), "one answer waited"
    # One after the other would take at least 2 × 10 × 0.2 s.
    assert makespan < 3.9, f"two 2-second answers took {makespan:.1f} s"


async def test_killed_mid_answer_then_restarted_every_question_gets_one_complete_answer(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice")
    room_id, _ = await open_direct_chat(alice, bot_id)
    words = " ".join(f"part{i}" for i in range(12))
    ollama.reply = lambda request: words
    ollama.chunk_delay = 0.3

    question = await alice.send(room_id, "tell me a long story")
    view = await wait_for_answer(alice, room_id, question, bot_id)  # the first words are shown
    assert view.body != words
    bot.stop(signal.SIGKILL)

    while_down = await alice.send(room_id, "are you back?")  # sent while the bot is down
    ollama.chunk_delay = 0.0
    bot.start()

    await wait_for_answer(alice, room_id, question, bot_id, words, view=view)
    later = await wait_for_answer(alice, room_id, while_down, bot_id, words)
    assert view.other_replies == [], "the question got a second reply"
    assert "resuming" in bot.logs()
    assert later.other_replies == []
    ollama.reply = lambda request: "ok"
    await wait_for_answer(alice, room_id, await alice.send(room_id, "memory check"), bot_id, "ok")
    history = [m["content"] for m in ollama.chat_requests()[-1]["messages"][1:-1]]
    assert history == ["tell me a long story", words, "are you back?", words]


async def test_history_from_before_the_bot_joined_is_never_answered(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice")
    created = await alice.client.room_create(name="Old room")
    room_id = created.room_id
    await alice.send(room_id, "@bot an old question from before you were here")
    await alice.client.room_invite(room_id, bot_id)
    await wait_until_member(alice, room_id, bot_id)
    new = await alice.send(room_id, "@bot a new question")
    await wait_for_answer(alice, room_id, new, bot_id, "You said: a new question")
    assert not any("old question" in str(r["messages"]) for r in ollama.chat_requests())


async def test_homeserver_down_and_back_loses_no_answer(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice")
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.first_chunk_delay = 1.5  # the answer is ready while the homeserver is down

    question = await alice.send(room_id, "answer me through the outage")
    ollama_saw_it = time.monotonic() + 20
    while not any("through the outage" in str(r) for r in ollama.chat_requests()):
        assert time.monotonic() < ollama_saw_it
        await asyncio.sleep(0.05)  # polling the double for the condition
    synapse.stop()
    assert bot.process is not None and bot.process.poll() is None
    await synapse.start()

    answer = await wait_for_answer(alice, room_id, question, bot_id, "You said: answer me through the outage")
    assert answer.other_replies == []
    assert bot.process.poll() is None, "the bot exited during the outage"
    after = await alice.send(room_id, "still there?")
    await wait_for_answer(alice, room_id, after, bot_id, "You said: still there?")


async def test_model_failure_mid_answer_says_so_and_stores_no_half_turn(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice")
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.reply = lambda request: "this answer will break off halfway through"
    ollama.fail_after_chunks = 3
    question = await alice.send(room_id, "break please")
    broken = await wait_for_answer(alice, room_id, question, bot_id, lambda v: "cut short" in v.body)
    assert broken.body.startswith("this answer will")

    ollama.reset()
    again = await alice.send(room_id, "fresh start")
    await wait_for_answer(alice, room_id, again, bot_id, "You said: fresh start")
    history = [m["content"] for m in ollama.chat_requests()[-1]["messages"][1:]]
    assert history == ["fresh start"]


async def test_notices_and_other_bots_are_never_answered(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    other_bot = await make_user("otherbot")
    room_id = await other_bot.join(f"#public:{synapse.server_name}")
    await other_bot.client.room_send(room_id, "m.room.message", {"msgtype": "m.notice", "body": "@bot ping"})
    marker = await other_bot.send(room_id, "@bot marker")
    view = await wait_for_answer(other_bot, room_id, marker, bot_id, "You said: marker")
    assert view.reply is not None
    assert not any(r["messages"][-1]["content"] == "ping" for r in ollama.chat_requests())


async def test_per_user_rate_limit_answers_with_one_polite_notice(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    await bob.join(room_id)
    for i in range(BOT_RATE_LIMIT + 2):
        await alice.send(room_id, f"@bot q{i}")
    marker = await bob.send(room_id, "@bot is bob limited too?")
    await wait_for_answer(bob, room_id, marker, bot_id, "You said: is bob limited too?")

    replies: list[dict] = []
    deadline = time.monotonic() + 30
    while len(replies) < BOT_RATE_LIMIT + 1:
        assert time.monotonic() < deadline
        response = await alice.sync(timeout_ms=2000)
        room = response.rooms.join.get(room_id)
        replies += [
            e.source
            for e in (room.timeline.events if room else [])
            if e.source.get("sender") == bot_id
            and e.source["content"].get("m.mentions", {}).get("user_ids") == [alice.user_id]
            and "m.in_reply_to" in e.source["content"].get("m.relates_to", {})
        ]
    notices = [r for r in replies if "faster than I can keep up" in r["content"]["body"]]
    assert len(notices) == 1
    assert len(replies) == BOT_RATE_LIMIT + 1


async def test_answers_arrive_in_order_within_one_conversation(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice")
    room_id, _ = await open_direct_chat(alice, bot_id)
    first = await alice.send(room_id, "first")
    second = await alice.send(room_id, "second")
    await wait_for_answer(alice, room_id, second, bot_id, "You said: second")
    requests = [r["messages"] for r in ollama.chat_requests()]
    second_request = next(m for m in requests if m[-1]["content"] == "second")
    assert [m["content"] for m in second_request[1:]] == ["first", "You said: first", "second"]
    assert first


async def test_the_model_never_has_more_answers_at_once_than_the_cap(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    """OLLAMA_PARALLEL: six people asking at once, a cap of 2: the model works on
    two answers at a time, and everybody is answered."""
    bot_id = synapse.provisioned.bot_user_id
    people = [await make_user(f"capped{i}") for i in range(6)]
    rooms = [(await open_direct_chat(person, bot_id))[0] for person in people]
    bot.stop()
    bot.env["OLLAMA_PARALLEL"] = "2"
    try:
        bot.start()
        ollama.chunk_delay = 0.1
        ollama.most_at_once = 0
        questions = await asyncio.gather(
            *(p.send(r, "take your time") for p, r in zip(people, rooms, strict=True))
        )
        await asyncio.gather(
            *(
                wait_for_answer(p, r, q, bot_id, "You said: take your time")
                for p, r, q in zip(people, rooms, questions, strict=True)
            )
        )
        assert ollama.most_at_once == 2
    finally:
        bot.stop()
        del bot.env["OLLAMA_PARALLEL"]
        bot.start()

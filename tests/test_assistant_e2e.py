"""The assistant people use all day, through the real Synapse and the Ollama double:
direct chats, memory per user and room, commands, model choice, streaming, formatting,
threads, images and long input."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib

from nio import UploadResponse

from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser, open_direct_chat, replies_to, wait_for_answer
from tests.ollama_double import FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer


def _png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _contents(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"]]


async def _ask(
    user: MatrixUser, room_id: str, bot_id: str, text: str, expected: str | None = None, **extra: object
):
    question = await user.send(room_id, text, **extra)
    return question, await wait_for_answer(user, room_id, question, bot_id, expected)


async def test_direct_chat_greets_then_answers_every_message(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, greeting = await open_direct_chat(alice, bot_id)
    for command in ("!help", "!models", "!model", "!reset"):
        assert command in greeting["content"]["body"]

    await _ask(
        alice, room_id, bot_id, "what is the capital of France?", "You said: what is the capital of France?"
    )


async def test_memory_survives_a_bot_restart(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.scripted.append("Nice to meet you, Zed.")
    await _ask(alice, room_id, bot_id, "my name is Zed", "Nice to meet you, Zed.")

    bot.stop()
    bot.start()

    await _ask(alice, room_id, bot_id, "what is my name?", "You said: what is my name?")
    sent = _contents(ollama.chat_requests()[-1])
    assert sent[1:] == ["my name is Zed", "Nice to meet you, Zed.", "what is my name?"]


async def test_private_memory_never_reaches_another_room_or_user(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    dm_id, _ = await open_direct_chat(alice, bot_id)
    await _ask(alice, dm_id, bot_id, "my secret code is 4711", "You said: my secret code is 4711")

    public_id = await alice.join(f"#public:{synapse.server_name}")
    await bob.join(public_id)
    await _ask(alice, public_id, bot_id, "@bot what is my code?", "You said: what is my code?")
    await _ask(bob, public_id, bot_id, "@bot what is alice's code?", "You said: what is alice's code?")

    for request in ollama.chat_requests()[-2:]:
        assert not any("4711" in text for text in _contents(request))
    # In #public the model sees no memory of Alice's, only the question (after the room's
    # recent messages, which everyone there can read).
    [asked] = _contents(ollama.chat_requests()[-2])[1:]
    assert asked.endswith(" asks: what is my code?")


async def test_model_command_changes_the_model_ollama_receives(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)

    _, listing = await _ask(alice, room_id, bot_id, "!models")
    assert "`llama3:latest` **← current**" in listing.body
    assert "`llava:latest` (sees images)" in listing.body

    _, done = await _ask(alice, room_id, bot_id, "!model llava")
    assert done.body == "Done: I'll answer you with `llava:latest` from now on."
    await _ask(alice, room_id, bot_id, "hello llava", "You said: hello llava")
    assert ollama.chat_requests()[-1]["model"] == "llava:latest"

    _, refused = await _ask(alice, room_id, bot_id, "!model gpt-17")
    assert "no model called `gpt-17`" in refused.body
    await _ask(alice, room_id, bot_id, "still llava?", "You said: still llava?")
    assert ollama.chat_requests()[-1]["model"] == "llava:latest"


async def test_a_vanished_model_is_named_clearly(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    ollama.models.append(FakeModel("mistral:latest"))
    try:
        await _ask(alice, room_id, bot_id, "!model mistral")
    finally:
        ollama.models.pop()
    _, answer = await _ask(alice, room_id, bot_id, "are you there?")
    assert "`mistral:latest` is not available in Ollama any more" in answer.body
    assert answer.content["msgtype"] == "m.notice"


async def test_reset_forgets_this_rooms_conversation(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    await _ask(alice, room_id, bot_id, "remember 42", "You said: remember 42")
    _, reset = await _ask(alice, room_id, bot_id, "!reset")
    assert "forgotten" in reset.body
    await _ask(alice, room_id, bot_id, "what number?", "You said: what number?")
    assert _contents(ollama.chat_requests()[-1])[1:] == ["what number?"]


async def test_commands_work_after_a_mention_in_a_public_room(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    _, help_answer = await _ask(alice, room_id, bot_id, "@bot !help")
    assert "!models" in help_answer.body
    _, unknown = await _ask(alice, room_id, bot_id, "@bot !frobnicate")
    assert "`!frobnicate`" in unknown.body


async def test_answer_streams_with_edits_and_ends_complete(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    words = [f"word{i}" for i in range(12)]
    ollama.scripted.append(" ".join(words))
    ollama.chunk_delay = 0.25  # 3 s of writing: the bot edits about once a second

    question = await alice.send(room_id, "@bot write slowly")
    first = await wait_for_answer(alice, room_id, question, bot_id)
    assert first.reply is not None
    first_body = first.reply["content"]["body"]
    assert first_body != " ".join(words) and " ".join(words).startswith(first_body)

    done = await wait_for_answer(alice, room_id, question, bot_id, " ".join(words), view=first)
    assert 1 <= len(done.edits) <= 5
    assert done.edits[0]["content"]["m.relates_to"] == {
        "rel_type": "m.replace",
        "event_id": first.reply["event_id"],
    }


async def test_typing_notification_while_the_model_works(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    ollama.first_chunk_delay = 2.0
    question = await alice.send(room_id, "@bot think hard")
    saw_typing = False
    while not saw_typing:
        response = await alice.sync(timeout_ms=3000)
        room = response.rooms.join.get(room_id)
        for event in room.ephemeral if room else []:
            if type(event).__name__ == "TypingNoticeEvent" and bot_id in event.users:
                saw_typing = True
    await wait_for_answer(alice, room_id, question, bot_id, "You said: think hard")


async def test_reasoning_is_removed_and_markdown_is_sanitised(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    ollama.chunk_delay = 0.1
    ollama.scripted.append(
        "<think>the user wants arithmetic, secret chain of thought</think>"
        "The answer is **4**. <script>alert('x')</script><img src=https://evil.example/t.png>"
    )
    question = await alice.send(room_id, "@bot what is 2+2?")
    done = await wait_for_answer(alice, room_id, question, bot_id, lambda v: "evil.example" in v.body)
    shown = [done.reply, *done.edits] if done.reply else []
    for event in shown:
        assert "chain of thought" not in str(event["content"])
    final = done.content
    assert "<strong>4</strong>" in final["formatted_body"]
    assert "<script" not in final["formatted_body"] and "<img" not in final["formatted_body"]
    assert final["format"] == "org.matrix.custom.html"


async def test_answer_to_a_question_in_a_thread_stays_in_the_thread(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    root = await alice.send(room_id, "Thread: planning the picnic")
    question = await alice.send(
        room_id,
        "@bot what should we bring?",
        **{
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            }
        },
    )
    answer = await wait_for_answer(alice, room_id, question, bot_id, "You said: what should we bring?")
    assert answer.reply is not None
    relation = answer.reply["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread" and relation["event_id"] == root
    assert relation["m.in_reply_to"] == {"event_id": question}


async def _upload_png(user: MatrixUser, data: bytes) -> str:
    response, _ = await user.client.upload(
        io.BytesIO(data), content_type="image/png", filename="dot.png", filesize=len(data)
    )
    assert isinstance(response, UploadResponse), response
    return str(response.content_uri)


async def test_image_in_direct_chat_reaches_a_vision_model(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    image = _png()
    mxc = await _upload_png(alice, image)
    content = {"url": mxc, "info": {"mimetype": "image/png", "size": len(image)}, "msgtype": "m.image"}

    # The default model cannot see: the bot says so and names one that can.
    event_id = await alice.client.room_send(room_id, "m.room.message", {**content, "body": "dot.png"})
    refusal = await wait_for_answer(alice, room_id, event_id.event_id, bot_id)
    assert "cannot see images" in refusal.body and "`!model llava:latest`" in refusal.body

    await _ask(alice, room_id, bot_id, "!model llava:latest")
    sent = await alice.client.room_send(
        room_id, "m.room.message", {**content, "body": "what colour is this?", "filename": "dot.png"}
    )
    await wait_for_answer(
        alice, room_id, sent.event_id, bot_id, lambda v: v.body.endswith("what colour is this?")
    )
    last = ollama.chat_requests()[-1]["messages"][-1]
    assert last["images"] == [base64.b64encode(image).decode()]
    assert last["content"].strip() == "what colour is this?"  # LangChain joins text parts with newlines


async def test_mention_replying_to_an_image_sends_the_image(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id = await alice.join(f"#public:{synapse.server_name}")
    await _ask(alice, room_id, bot_id, "@bot !model llava")
    image = _png(3, 1)
    mxc = await _upload_png(alice, image)
    posted = await alice.client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.image", "body": "pic.png", "url": mxc, "info": {"mimetype": "image/png"}},
    )
    question = await alice.send(
        room_id,
        "@bot what is in this picture?",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": posted.event_id}}},
    )
    await wait_for_answer(
        alice, room_id, question, bot_id, lambda v: v.body.endswith("what is in this picture?")
    )
    assert ollama.chat_requests()[-1]["messages"][-1]["images"] == [base64.b64encode(image).decode()]


async def test_long_input_is_cut_with_a_notice(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    long_text = "x" * 9000
    question = await alice.send(room_id, long_text)
    notice = await alice.wait_for(
        room_id, lambda e: replies_to(question, bot_id)(e) and e["content"]["msgtype"] == "m.notice"
    )
    assert "first 8,000 characters" in notice["content"]["body"]
    both = await wait_for_answer(alice, room_id, question, bot_id, lambda v: len(v.other_replies) == 1)
    assert both.other_replies[0]["content"]["body"].startswith("You")  # the streamed answer began
    assert len(ollama.chat_requests()[-1]["messages"][-1]["content"]) == 8000


async def test_an_image_too_large_to_look_at_is_refused_by_claim_and_by_its_real_size(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    """The bot streams images for the model with a size limit (MAX_IMAGE_MB, 20 MB): a
    member cannot make it hold a huge file, whatever size the event claims."""
    alice = await make_user("alice")
    bot_id = synapse.provisioned.bot_user_id
    room_id, _ = await open_direct_chat(alice, bot_id)
    await _ask(alice, room_id, bot_id, "!model llava:latest")
    huge = _png() + b"\x00" * (21 * 1024 * 1024)  # a PNG with 21 MB of trailing bytes
    mxc = await _upload_png(alice, huge)
    for claimed in (len(huge), 1234):  # the truth, then a lie
        sent = await alice.client.room_send(
            room_id,
            "m.room.message",
            {
                "msgtype": "m.image",
                "body": "big.png",
                "url": mxc,
                "info": {"mimetype": "image/png", "size": claimed},
            },
        )
        refusal = await wait_for_answer(alice, room_id, sent.event_id, bot_id)
        assert "larger than 20 MB" in refusal.body, refusal.body
    assert all("images" not in m for r in ollama.chat_requests() for m in r["messages"])


async def test_questions_from_other_servers_and_their_invites_are_refused() -> None:
    """Pure rule (no federation in the test homeserver): only the bot's own server, or
    those listed in BOT_ALLOWED_SERVERS, may invite it and ask it."""
    from bot.intake import Intake, RoomFacts
    from bot.values import BotIdentity

    own = Intake(BotIdentity("@bot:chat.example", "bot"), catchup_window_s=600)
    assert own.accepts_invite_from("@alice:chat.example")
    assert not own.accepts_invite_from("@mallory:evil.example")
    event = {
        "type": "m.room.message",
        "event_id": "$q",
        "sender": "@mallory:evil.example",
        "origin_server_ts": int(time.time() * 1000),
        "content": {"msgtype": "m.text", "body": "@bot hello"},
    }
    assert own.job_for(RoomFacts("!r:chat.example", is_direct=False), event) is None
    friendly = Intake(
        BotIdentity("@bot:chat.example", "bot"), 600, frozenset({"chat.example", "evil.example"})
    )
    assert friendly.accepts_invite_from("@mallory:evil.example")
    assert friendly.job_for(RoomFacts("!r:chat.example", is_direct=False), event) is not None

"""The bot through the real Synapse and the Ollama double: a person asks, the bot answers."""

from __future__ import annotations

from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import replies_to, wait_for_answer, wait_until_member
from tests.ollama_double import FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer

AI_UNAVAILABLE = "the AI service is unavailable"


async def test_bot_answers_in_public_room(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    ollama.scripted.append("Hello Alice! I am the assistant.")

    question = await alice.send(room_id, "@bot hello")
    answer = await wait_for_answer(
        alice, room_id, question, synapse.provisioned.bot_user_id, "Hello Alice! I am the assistant."
    )

    assert answer.reply is not None
    assert answer.reply["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    sent = ollama.chat_requests()[-1]
    assert sent["model"] == "llama3:latest"
    assert sent["messages"][-1]["role"] == "user"
    assert sent["messages"][-1]["content"].endswith(" asks: hello")  # a group room: who asks
    assert sent["messages"][0]["role"] == "system"


async def test_bot_answers_a_mention_pill(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    bot_id = synapse.provisioned.bot_user_id
    question = await alice.send(
        room_id,
        "bot: what is a pill?",
        format="org.matrix.custom.html",
        formatted_body=f'<a href="https://matrix.to/#/{bot_id}">bot</a>: what is a pill?',
        **{"m.mentions": {"user_ids": [bot_id]}},
    )
    await wait_for_answer(alice, room_id, question, bot_id, "You said: what is a pill?")


async def test_ordinary_messages_get_no_answer(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    chatter = await alice.send(room_id, "just chatting with people, not the bot")
    marker = await alice.send(room_id, "@bot ping")
    await wait_for_answer(alice, room_id, marker, synapse.provisioned.bot_user_id, "You said: ping")
    # The bot handles a room's messages in order, so by the time the marker is
    # answered, an answer to the chatter would have been sent already.
    assert [
        r for r in ollama.chat_requests() if r["messages"][-1]["content"].startswith("just chatting")
    ] == []
    assert chatter


async def test_ollama_down_gives_a_clear_reply_and_bot_keeps_running(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    bot_id = synapse.provisioned.bot_user_id
    ollama.stop()

    question = await alice.send(room_id, "@bot are you there?")
    reply = await alice.wait_for(room_id, replies_to(question, sender=bot_id))
    # It names where it looked and what whoever runs the server should do.
    body = reply["content"]["body"]
    assert "not running" in body and ollama.base_url in body and "`ollama serve`" in body
    assert reply["content"]["msgtype"] == "m.notice"

    ollama.start()
    again = await alice.send(room_id, "@bot and now?")
    await wait_for_answer(alice, room_id, again, bot_id, "You said: and now?")


async def test_a_fresh_ollama_without_the_model_gets_the_pull_command(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    bot_id = synapse.provisioned.bot_user_id
    ollama.models[:] = [FakeModel("nomic-embed-text:latest", embedding_only=True)]  # no chat model pulled
    question = await alice.send(room_id, "@bot hello")
    reply = await alice.wait_for(room_id, replies_to(question, sender=bot_id))
    body = reply["content"]["body"]
    assert ollama.base_url in body and "`ollama pull llama3`" in body, body
    ollama.reset()  # the model is pulled: the next question is answered, no restart needed
    again = await alice.send(room_id, "@bot and now?")
    await wait_for_answer(alice, room_id, again, bot_id, "You said: and now?")


async def test_ollama_error_gives_a_clear_reply(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    ollama.error_status = 500
    question = await alice.send(room_id, "@bot fail please")
    reply = await alice.wait_for(room_id, replies_to(question, sender=synapse.provisioned.bot_user_id))
    assert AI_UNAVAILABLE in reply["content"]["body"]


async def test_invited_bot_joins_and_answers(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    created = await alice.client.room_create(name="Project room", invite=[bob.user_id, bot_id])
    room_id = created.room_id

    await wait_until_member(alice, room_id, bot_id)
    question = await alice.send(room_id, "@bot summarise our plan")
    await wait_for_answer(alice, room_id, question, bot_id, "You said: summarise our plan")

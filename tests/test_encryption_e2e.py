"""Encrypted direct chats, as Element makes them: the bot reads and answers encrypted
messages, keeps its device and keys across restarts, and says once per room when it
cannot decrypt something."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from nio import MegolmEvent, RoomCreateResponse, RoomPreset

from bot.crypto import keys_housekeeping
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser, wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer

ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


async def encrypted_dm(user: MatrixUser, bot_id: str) -> str:
    """An encrypted direct chat with the bot, as Element makes one; waits for the greeting."""
    await keys_housekeeping(user.client)
    created = await user.client.room_create(
        is_direct=True, invite=[bot_id], preset=RoomPreset.trusted_private_chat, initial_state=[ENCRYPTION]
    )
    assert isinstance(created, RoomCreateResponse), created
    greeting = await user.wait_for(
        created.room_id,
        lambda e: e.get("sender") == bot_id and e.get("type") in ("m.room.message", "m.room.encrypted"),
    )
    await keys_housekeeping(user.client)
    assert "!help" in greeting["content"]["body"], "the bot's encrypted greeting could be read"
    return created.room_id


async def test_encrypted_direct_chat_is_answered_encrypted(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory, tmp_path: Path
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice", store_path=str(tmp_path))
    room_id = await encrypted_dm(alice, bot_id)
    assert alice.client.rooms[room_id].encrypted

    question = await alice.send(room_id, "a secret question")
    answer = await wait_for_answer(alice, room_id, question, bot_id, "You said: a secret question")
    assert answer.reply is not None

    # What Synapse stores is ciphertext, for the question and the answer alike.
    async with aiohttp.ClientSession() as session:
        url = f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=20"
        async with session.get(
            url, headers={"Authorization": f"Bearer {alice.client.access_token}"}
        ) as response:
            stored = (await response.json())["chunk"]
    by_sender = {e["sender"] for e in stored if e["type"] == "m.room.encrypted"}
    assert {alice.user_id, bot_id} <= by_sender
    assert not any(e["type"] == "m.room.message" for e in stored)

    # After a restart the bot keeps its device and keys, and still answers.
    device_before = (synapse.settings.data_dir / "bot" / "login.json").read_text()
    bot.stop()
    bot.start()
    assert (synapse.settings.data_dir / "bot" / "login.json").read_text() == device_before
    again = await alice.send(room_id, "after the restart")
    await wait_for_answer(alice, room_id, again, bot_id, "You said: after the restart")


async def send_undecryptable(user: MatrixUser, synapse: SynapseServer, room_id: str) -> None:
    content: dict[str, Any] = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
        "device_id": user.client.device_id,
        "sender_key": "not-a-real-key-" + uuid.uuid4().hex,
        "session_id": "missing-session-" + uuid.uuid4().hex,
    }
    url = f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/{uuid.uuid4().hex}"
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {user.client.access_token}"}
        async with session.put(url, json=content, headers=headers) as response:
            assert response.status == 200


async def test_undecryptable_messages_get_one_notice_per_room(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory, tmp_path: Path
) -> None:
    bot_id = synapse.provisioned.bot_user_id
    alice = await make_user("alice", store_path=str(tmp_path))
    room_id = await encrypted_dm(alice, bot_id)

    for _ in range(3):
        await send_undecryptable(alice, synapse, room_id)
    notices = []
    deadline = time.monotonic() + 30
    while not notices:
        assert time.monotonic() < deadline, "no notice about the undecryptable messages"
        response = await alice.sync(timeout_ms=2000)
        room = response.rooms.join.get(room_id)
        notices += [e for e in (room.timeline.events if room else []) if "couldn't decrypt" in _body(e)]

    # More undecryptable messages later: still no second notice, and real questions still work.
    for _ in range(2):
        await send_undecryptable(alice, synapse, room_id)
    question = await alice.send(room_id, "can you read this one?")
    await wait_for_answer(alice, room_id, question, bot_id, "You said: can you read this one?")
    observe_until = time.monotonic() + 4  # twice the bot's grace period in tests
    while time.monotonic() < observe_until:
        response = await alice.sync(timeout_ms=1000)
        room = response.rooms.join.get(room_id)
        notices += [e for e in (room.timeline.events if room else []) if "couldn't decrypt" in _body(e)]
    assert len(notices) == 1


def _body(event: Any) -> str:
    if isinstance(event, MegolmEvent):
        return ""
    return str(event.source.get("content", {}).get("body", ""))

"""A member sends a corpus of malformed events (tests/data/malformed_events.json) into
#public, a direct chat with the bot and #gallery, through the real Synapse. Afterwards
the bot still answers (also after a restart), each bad event is logged at most once, and
the portal still shows the gallery and the room's history."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import RoomSendResponse

from portal.app import create_app
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import open_direct_chat, wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

CORPUS_PATH = Path(__file__).parent / "data" / "malformed_events.json"
REPEAT = re.compile(r"\{\{repeat (.+?) (\d+)\}\}")


def expand(value: Any) -> Any:
    """The corpus writes long strings as `{{repeat UNIT N}}`."""
    if isinstance(value, str):
        return REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), value)
    if isinstance(value, dict):
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


CORPUS: list[dict[str, Any]] = [expand(entry) for entry in json.loads(CORPUS_PATH.read_text())]


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(portal_settings(synapse, ollama.base_url)))) as client:
        yield client


async def test_malformed_events_stop_nothing(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory, portal: TestClient
) -> None:
    assert len(CORPUS) >= 40
    bot_id = synapse.provisioned.bot_user_id
    mallory, alice = await make_user("mallory"), await make_user("alice")
    public = await mallory.join(f"#public:{synapse.server_name}")
    gallery = await mallory.join(f"#gallery:{synapse.server_name}")
    direct, _ = await open_direct_chat(mallory, bot_id)
    accepted: Counter[str] = Counter()
    for room in (public, direct, gallery):
        for entry in CORPUS:
            sent = await mallory.client.room_send(room, entry["type"], entry["content"])
            if isinstance(sent, RoomSendResponse):
                accepted[room] += 1
    assert min(accepted.values()) >= 40, f"Synapse took too few of them to prove much: {accepted}"

    # Mallory has used up her questions (rate limit); Alice has not.
    await alice.join(public)
    question = await alice.send(public, "@bot still there?")
    await wait_for_answer(alice, public, question, bot_id, "You said: still there?", timeout=60)
    alice_direct, _ = await open_direct_chat(alice, bot_id)
    question = await alice.send(alice_direct, "and here?")
    await wait_for_answer(alice, alice_direct, question, bot_id, "You said: and here?", timeout=60)

    bot.stop()
    bot.start()  # what it recorded as skipped is not tried again
    question = await alice.send(public, "@bot after a restart?")
    await wait_for_answer(alice, public, question, bot_id, "You said: after a restart?", timeout=60)
    skipped = re.findall(r"skipping event (\S+) in", bot.logs())
    assert skipped, "the bot did not say which events it skipped"
    assert max(Counter(skipped).values()) == 1, "an event was logged as skipped more than once"
    assert "Traceback" not in bot.logs()
    assert "event too large" not in bot.logs(), "the bot wrote a message Synapse refused"

    browser = Browser(portal, "203.0.113.90")
    assert (await browser.sign_up(unique("viewer"))).status == 303
    assert (await browser.get("/gallery")).status == 200
    start: str | None = None
    for _ in range(4):  # the room's history, page by page, through all of the corpus
        query = f"?from={start}" if start else ""
        page = await browser.get(f"/chat/api/rooms/{public}/messages{query}")
        assert page.status == 200, await page.text()
        start = (await page.json())["next"]
        if start is None:
            break
    stream = await browser.open_stream()
    try:
        rooms = await stream.wait_for("rooms")
        assert public in {room["id"] for room in rooms["rooms"]}
    finally:
        stream.close()

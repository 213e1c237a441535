"""Portal pages for a logged-in person, through the real Synapse, the real bot and the
Ollama double: model choice shared with `!model`, and my AI conversations."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import create_app
from tests.bot_process import BotProcess
from tests.matrix_user import MatrixUser, open_direct_chat, wait_for_answer
from tests.ollama_double import OllamaDouble, free_port
from tests.portal_client import Browser, SecondBrowser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

PASSWORD = "a long passphrase 42"


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(portal_settings(synapse, ollama.base_url)))) as client:
        yield client


async def _signed_up(portal: TestClient, address: str = "203.0.113.50") -> tuple[Browser, str]:
    browser = Browser(portal, address)
    name = unique("member")
    assert (await browser.sign_up(name, PASSWORD)).status == 303
    return browser, name


async def _matrix_login(synapse: SynapseServer, name: str) -> MatrixUser:
    from nio import AsyncClient, LoginResponse

    client = AsyncClient(synapse.url, f"@{name}:{synapse.server_name}")
    assert isinstance(await client.login(PASSWORD), LoginResponse)
    user = MatrixUser(client)
    await user.sync()
    return user


async def test_model_page_lists_models_with_size_and_vision(portal: TestClient) -> None:
    browser, _ = await _signed_up(portal)
    html = await (await browser.get("/models")).text()
    assert "llama3:latest" in html and "llava:latest" in html
    assert "4.7 GB" in html and "sees images" in html
    assert re.search(r'id="current-model">llama3:latest<', html)


async def test_model_chosen_in_the_portal_is_the_bots_model_and_back(
    portal: TestClient, synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble
) -> None:
    browser, name = await _signed_up(portal)
    saved = await browser.post("/models", {"model": "llava:latest"})
    assert saved.status == 200 and "now answers you with llava:latest" in await saved.text()

    user = await _matrix_login(synapse, name)
    try:
        bot_id = synapse.provisioned.bot_user_id
        room_id, _ = await open_direct_chat(user, bot_id)
        question = await user.send(room_id, "which model?")
        await wait_for_answer(user, room_id, question, bot_id, "You said: which model?")
        assert ollama.chat_requests()[-1]["model"] == "llava:latest"

        command = await user.send(room_id, "!model llama3")
        await wait_for_answer(user, room_id, command, bot_id, lambda v: "llama3:latest" in v.body)
    finally:
        await user.close()
    html = await (await browser.get("/models")).text()
    assert re.search(r'id="current-model">llama3:latest<', html)


async def test_model_page_says_when_ollama_is_offline_and_keeps_the_choice(
    synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    settings = portal_settings(synapse, f"http://127.0.0.1:{free_port()}")
    async with TestClient(TestServer(create_app(settings))) as portal:
        browser, _ = await _signed_up(portal, "203.0.113.51")
        html = await (await browser.get("/models")).text()
        assert "offline" in html and re.search(r'id="current-model">llama3:latest<', html)
        assert "The AI service is offline" in html  # the banner on every page
        refused = await browser.post("/models", {"model": "llava:latest"}, page="/models")
        assert refused.status == 503
        assert re.search(r'id="current-model">llama3:latest<', await refused.text())


async def test_my_conversations_show_what_the_bot_remembers_only_to_me(
    portal: TestClient, synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble
) -> None:
    browser, name = await _signed_up(portal)
    user = await _matrix_login(synapse, name)
    try:
        bot_id = synapse.provisioned.bot_user_id
        room_id, _ = await open_direct_chat(user, bot_id)
        question = await user.send(room_id, "remember the blue door")
        await wait_for_answer(user, room_id, question, bot_id, "You said: remember the blue door")
    finally:
        await user.close()

    # The bot stores the turn just after its final edit: wait for it to appear.
    deadline = time.monotonic() + 10
    while quote(room_id, safe="") not in await (await browser.get("/conversations")).text():
        assert time.monotonic() < deadline, "the conversation never showed up"
        await asyncio.sleep(0.1)
    page = await browser.get(f"/conversations/{quote(room_id, safe='')}")
    assert page.status == 200
    history = await page.text()
    assert "remember the blue door" in history and "You said: remember the blue door" in history

    async with SecondBrowser(portal, "203.0.113.52") as intruder:
        assert (await intruder.sign_up(unique("intruder"), PASSWORD)).status == 303
        peek = await intruder.get(f"/conversations/{quote(room_id, safe='')}")
        assert peek.status == 404
        assert "blue door" not in await peek.text()
        await intruder.post(f"/conversations/{quote(room_id, safe='')}/delete", {}, page="/conversations")
    assert (await browser.get(f"/conversations/{quote(room_id, safe='')}")).status == 200  # still mine

    await browser.post(f"/conversations/{quote(room_id, safe='')}/delete", {}, page="/conversations")
    assert (await browser.get(f"/conversations/{quote(room_id, safe='')}")).status == 404


async def test_pages_for_members_send_visitors_to_login(portal: TestClient) -> None:
    for path in ("/models", "/conversations"):
        response = await portal.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_direct_chat_button_creates_the_chat_once(portal: TestClient, synapse: SynapseServer) -> None:
    browser, _ = await _signed_up(portal)
    first = await browser.post("/conversations/direct-chat", {}, page="/conversations")
    second = await browser.post("/conversations/direct-chat", {}, page="/conversations")
    assert first.status == second.status == 303
    assert first.headers["Location"].startswith("/chat#room=!")
    assert first.headers["Location"] == second.headers["Location"]

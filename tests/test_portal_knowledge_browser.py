"""Room knowledge in a real browser (Debian's headless Chromium through Playwright) against
the real Synapse: a person logs in, opens Room knowledge from the navigation, adds a
small Markdown file to their room with the keyboard, sees it listed once the bot has
recorded it, deletes it, and sees it gone (its message redacted in Synapse)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from nio import RoomCreateResponse

from appdb.knowledge import PostedFile
from portal.app_keys import KNOWLEDGE
from tests import test_portal_chat_browser as chat_browser
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser, wait_for_answer
from tests.ollama_double import FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer
from tests.test_accessibility_browser import MATRIX_USER_PASSWORD, _assert_focus_ring, _tab_to
from tests.test_knowledge_e2e import EMBEDDER, RULES, citing_model
from tests.test_portal_accounts import portal_settings, unique
from tests.test_portal_browser import ARTIFACTS
from tests.test_portal_chat_browser import LivePortal
from tests.test_portal_knowledge import stand_in_bot

playwright_api = pytest.importorskip("playwright.async_api")
if chat_browser.CHROMIUM is None:
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")

chromium = chat_browser.chromium


@pytest.fixture
async def live_portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[LivePortal]:
    """The portal on a real port, with a stand-in for the assistant's account (see
    `stand_in_bot`)."""
    bot = await stand_in_bot(synapse)
    portal = LivePortal(portal_settings(synapse, ollama.base_url, BOT_USERNAME=bot))
    await portal.start()
    yield portal
    await portal.stop()


async def _their_room(person: MatrixUser, bot: str) -> tuple[str, str]:
    name = unique("Team handbook ")
    created = await person.client.room_create(name=name, invite=[bot])
    assert isinstance(created, RoomCreateResponse), created
    return created.room_id, name


async def _log_in(chromium: Any, portal: LivePortal, person: MatrixUser) -> Any:
    context = await chromium.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    await page.goto(f"{portal.url}/login")
    await page.get_by_label("Username").fill(person.user_id[1:].split(":")[0])
    await page.get_by_label("Password").fill(MATRIX_USER_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_text(f"Welcome, {person.user_id}").wait_for()
    return page


async def _add_with_the_keyboard(page: Any, room_name: str, file: Path) -> None:
    """Room, file and submit with the keyboard alone (the file chooser opens with Space)."""
    choosers: asyncio.Queue[Any] = asyncio.Queue()
    page.on("filechooser", choosers.put_nowait)
    await _tab_to(page, page.get_by_label("Room"))
    await _assert_focus_ring(page, "the room picker")
    await page.get_by_label("Room").select_option(label=room_name)  # as the arrow keys would
    await _tab_to(page, page.get_by_label("File", exact=True))
    await page.keyboard.press("Space")
    chooser = await asyncio.wait_for(choosers.get(), timeout=10)
    await chooser.set_files(str(file))
    await _tab_to(page, page.get_by_role("button", name="Add to the room's knowledge"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_text(f"Posted {file.name} in {room_name}.").wait_for()


async def _posted_event(person: MatrixUser, room_id: str, name: str) -> str:
    """The m.file message the portal posted, as the person's Matrix client reads it."""
    event = await person.wait_for(
        room_id, lambda e: e.get("content", {}).get("msgtype") == "m.file" and e["content"]["body"] == name
    )
    return str(event["event_id"])


async def test_add_a_markdown_file_see_it_listed_and_delete_it(
    live_portal: LivePortal, chromium: Any, make_user: UserFactory, tmp_path: Path
) -> None:
    person = await make_user("reader")
    room_id, room_name = await _their_room(person, live_portal.settings.bot_user_id)
    notes = tmp_path / "opening-hours.md"
    notes.write_text("# Opening hours\n\nMonday to Friday, 9 to 5.\n")
    page = await _log_in(chromium, live_portal, person)
    try:
        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Room knowledge").click()
        await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Room knowledge")
        await _add_with_the_keyboard(page, room_name, notes)

        event_id = await _posted_event(person, room_id, notes.name)
        # The bot's part, played here: it records each file it sees posted (the bot's own
        # tests cover reading it; this one is about the page).
        assert live_portal._runner is not None
        store = live_portal._runner.app[KNOWLEDGE]
        posted = PostedFile(
            event_id, room_id, person.user_id, notes.name, "text/markdown", int(time.time() * 1000)
        )
        assert await store.add_file(posted)
        await page.reload()
        room = page.locator("section", has=page.get_by_role("heading", name=room_name))
        row = room.get_by_role("row", name=re.compile(re.escape(notes.name)))
        await playwright_api.expect(row.locator(".file-state")).to_have_text("Waiting to be read")
        await playwright_api.expect(row.get_by_role("cell").nth(2)).to_have_text("you")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "knowledge.png"), full_page=True)

        async with page.expect_navigation():
            await row.get_by_role("button", name=f"Delete {notes.name}").click()
        await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text("Room knowledge")
        await playwright_api.expect(
            room.get_by_role("row", name=re.compile(re.escape(notes.name)))
        ).to_have_count(0)
        await room.get_by_text("No files yet.").wait_for()
    except AssertionError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "knowledge-failure.png"), full_page=True)
        raise
    assert await store.file(event_id) is None
    assert await _redacted(person, room_id, event_id)
    assert await _files_in(person, room_id) == [event_id]  # reloading the page posted nothing more
    assert page.errors == []
    await page.context.close()


async def _get(person: MatrixUser, path: str) -> dict[str, Any]:
    client = person.client
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{client.homeserver}{path}", headers={"Authorization": f"Bearer {client.access_token}"}
        ) as got,
    ):
        body: dict[str, Any] = await got.json()
        return body


async def _redacted(person: MatrixUser, room_id: str, event_id: str) -> bool:
    event = await _get(person, f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}")
    return event["content"] == {}


async def _files_in(person: MatrixUser, room_id: str) -> list[str]:
    """The ids of the messages the person posted in the room (redacted ones included):
    they post nothing but the file."""
    page = await _get(person, f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=100")
    return [
        e["event_id"]
        for e in page["chunk"]
        if e["type"] == "m.room.message" and e["sender"] == person.user_id
    ]


@pytest.fixture
async def portal_with_the_bot(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble
) -> AsyncIterator[LivePortal]:
    """The portal on a real port, with the real bot running and an embedding model."""
    ollama.models.append(FakeModel(EMBEDDER, embedding_only=True))
    ollama.reply = citing_model
    portal = LivePortal(portal_settings(synapse, ollama.base_url))
    await portal.start()
    yield portal
    await portal.stop()


async def test_a_file_added_on_the_page_is_read_by_the_bot_and_answers_with_its_source(
    portal_with_the_bot: LivePortal, chromium: Any, make_user: UserFactory, tmp_path: Path
) -> None:
    """The whole path a person takes: the page posts the file, the bot reads it, the page
    shows it ready, and a question in the room is answered from it with its source."""
    portal, bot_id = portal_with_the_bot, portal_with_the_bot.settings.bot_user_id
    person = await make_user("reader")
    room_id, room_name = await _their_room(person, bot_id)
    await person.wait_for(
        room_id,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == bot_id
            and e["content"].get("membership") == "join"
        ),
    )
    rules = tmp_path / "rules.md"
    rules.write_text(RULES)
    page = await _log_in(chromium, portal, person)
    try:
        await page.goto(f"{portal.url}/knowledge")
        await _add_with_the_keyboard(page, room_name, rules)
        event_id = await _posted_event(person, room_id, rules.name)
        await wait_for_answer(person, room_id, event_id, bot_id, lambda v: "I've read" in v.body, 60)
        await page.reload()
        room = page.locator("section", has=page.get_by_role("heading", name=room_name))
        row = room.get_by_role("row", name=re.compile(re.escape(rules.name)))
        await playwright_api.expect(row.locator(".file-state")).to_have_text(re.compile(r"^Ready: "))
    except AssertionError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "knowledge-ready-failure.png"), full_page=True)
        raise
    finally:
        await page.context.close()
    question = await person.send(room_id, "@bot when are the yearly dues paid?")
    answer = await wait_for_answer(person, room_id, question, bot_id, lambda v: "Sources" in v.body, 60)
    assert "[rules.md, section Dues](" in answer.body and quote(event_id, safe="") in answer.body

"""My AI conversations in a real browser (Debian's headless Chromium, through Playwright),
against the real Synapse: a conversation downloaded as Markdown from the page, and the
room's persona shown on the page and in the chat's room header."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomPutStateResponse

from common.room_persona import PERSONA_EVENT_TYPE
from portal.app_keys import CONVERSATIONS
from tests import test_portal_chat_browser as chat_browser
from tests.test_conversation_export import HOSTILE, _as_code, _rendered
from tests.test_portal_browser import ARTIFACTS
from tests.test_portal_chat_browser import PASSWORD, LivePortal, _person

playwright_api = pytest.importorskip("playwright.async_api")
if chat_browser.CHROMIUM is None:
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")

live_portal = chat_browser.live_portal
chromium = chat_browser.chromium

PERSONA = "You answer like a patient librarian."


async def room_with_persona(portal: LivePortal, name: str, room_name: str, prompt: str) -> str:
    """A room the person creates (so moderates) from a Matrix client, with a persona."""
    user_id = f"@{name}:{portal.settings.server_name}"
    client = AsyncClient(portal.settings.homeserver_url, user_id)
    try:
        assert isinstance(await client.login(PASSWORD), LoginResponse)
        created = await client.room_create(name=room_name)
        assert isinstance(created, RoomCreateResponse), created
        content = {"prompt": prompt, "set_by": user_id}
        put = await client.room_put_state(created.room_id, PERSONA_EVENT_TYPE, content)
        assert isinstance(put, RoomPutStateResponse), put
        return created.room_id
    finally:
        await client.close()


async def test_a_conversation_is_downloaded_as_markdown_and_the_persona_shown(
    live_portal: LivePortal, chromium: Any
) -> None:
    page, name = await _person(chromium, live_portal, "exporter")
    room_id = await room_with_persona(live_portal, name, "Family plans", PERSONA)
    assert live_portal._runner is not None
    conversations = live_portal._runner.app[CONVERSATIONS]
    me = f"@{name}:{live_portal.settings.server_name}"
    await conversations.append_turn(me, room_id, HOSTILE, "It is 4.")
    await conversations.append_turn(me, room_id, "Thanks!", "You're welcome.")

    await page.goto(f"{live_portal.url}/conversations")
    await page.get_by_text(f"This room's assistant persona: {PERSONA}").wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "conversations.png"), full_page=True)
    link = page.get_by_role("link", name="Markdown file of the conversation in Family plans")
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert download.suggested_filename == f"Family-plans-{today}.md"
    document = Path(await download.path()).read_text(encoding="utf-8")

    assert document.startswith(f"# AI conversation in Family plans, exported {today}\n")
    blocks = _rendered(document)
    turns = [(blocks[i][1].split(" · ")[0], blocks[i + 1][1]) for i in range(2, 10, 2)]
    assert turns == [
        ("You", _as_code(HOSTILE)),
        ("Assistant", "It is 4.\n"),
        ("You", "Thanks!\n"),
        ("Assistant", "You're welcome.\n"),
    ]

    await page.goto(f"{live_portal.url}/chat#room={room_id}")
    await page.locator("#room-title", has_text="Family plans").wait_for()
    persona = page.locator("#room-persona")
    await playwright_api.expect(persona).to_have_text(f"This room's assistant persona: {PERSONA}")
    await page.screenshot(path=str(ARTIFACTS / "chat-persona.png"))
    await page.locator("#room-list .room-name", has_text=re.compile("^Public$")).click()
    await playwright_api.expect(persona).to_be_hidden()  # #public has none
    assert page.errors == []

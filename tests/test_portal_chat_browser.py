"""The portal chat in a real browser (Debian's headless Chromium through Playwright),
against the real Synapse, the real bot and the Ollama double: people with only a browser
chat in #public, in private, and with the assistant. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import io
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from PIL import Image

from portal.app import create_app
from portal.config import PortalSettings
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.ollama_double import OllamaDouble, free_port
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique
from tests.test_portal_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")
if CHROMIUM is None:
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")

PASSWORD = "a long passphrase 42"


class LivePortal:
    """The portal on a real port, which a test may stop and start again (same port, same data)."""

    def __init__(self, settings: PortalSettings) -> None:
        self.settings = settings
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(create_app(self.settings))
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        self._runner = None


@pytest.fixture
async def live_portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[LivePortal]:
    portal = LivePortal(portal_settings(synapse, ollama.base_url, PORTAL_SIGNUP_RATE="1000/hour"))
    await portal.start()
    yield portal
    if portal._runner is not None:
        await portal.stop()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def _person(chromium: Any, portal: LivePortal, prefix: str) -> tuple[Any, str]:
    """A new browser context (its own cookies) with a freshly signed-up person on /chat."""
    context = await chromium.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    name = unique(prefix)
    await page.goto(f"{portal.url}/signup")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await page.get_by_text(f"Welcome, @{name}:").wait_for()
    await page.goto(f"{portal.url}/chat")
    return page, name


async def _open_room(page: Any, name: str) -> None:
    await page.locator("#room-list .room-name", has_text=re.compile(f"^{re.escape(name)}$")).click()
    await page.locator("#room-title", has_text=name).wait_for()


async def _send(page: Any, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


def _message(page: Any, text: str) -> Any:
    return page.locator("#timeline-holder .event .body", has_text=text)


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), full_page=True)


async def test_two_people_chat_in_public_and_see_each_other_within_two_seconds(
    live_portal: LivePortal, chromium: Any
) -> None:
    alice, _ = await _person(chromium, live_portal, "alice")
    bob, _ = await _person(chromium, live_portal, "bob")
    for page in (alice, bob):
        await _open_room(page, "Public")
        assert await page.locator("#ai-tools").is_hidden()  # the model picker is for the AI chat

    for sender, reader, text in ((alice, bob, unique("hi bob, ")), (bob, alice, unique("hello alice, "))):
        await _send(sender, text)
        started = time.monotonic()
        await _message(reader, text).wait_for(timeout=2000)
        assert time.monotonic() - started < 2.0
        await _message(sender, text).wait_for(timeout=2000)
    assert await alice.locator("#connection").is_hidden()
    await _shot(alice, "public")
    assert alice.errors == [] and bob.errors == []


async def test_a_private_chat_started_in_the_portal_reaches_the_other_person(
    live_portal: LivePortal, chromium: Any
) -> None:
    alice, _ = await _person(chromium, live_portal, "alice")
    bob, bob_name = await _person(chromium, live_portal, "bob")
    await alice.get_by_label("Chat privately with").fill(bob_name)
    await alice.get_by_role("button", name="Start private chat").click()
    await alice.locator("#room-title", has_text=bob_name).wait_for()
    text = unique("just between us ")
    await _send(alice, text)
    await _message(alice, text).wait_for()

    invitation = bob.locator("#room-list li", has_text="invitation from")
    await invitation.wait_for()
    await invitation.get_by_role("button", name="Accept").click()
    await _message(bob, text).wait_for()
    assert await bob.locator("#room-list .room-button", has_text="Direct").count() == 1
    await _shot(bob, "private")


async def test_the_ai_chat_streams_an_answer_in_place_and_keeps_it_after_a_reload(
    live_portal: LivePortal, chromium: Any, bot: BotProcess, ollama: OllamaDouble
) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    ollama.reply = lambda request: words
    ollama.first_chunk_delay = 1.0  # thinking first: the bot shows it is typing
    ollama.chunk_delay = 0.08  # then about 3 s of writing: the bot edits the answer as it grows
    page, _ = await _person(chromium, live_portal, "asker")
    await page.get_by_role("navigation", name="Main").get_by_role("button", name="AI chat").click()
    await page.locator("#room-title", has_text="AI assistant").wait_for()
    await page.locator("#timeline-holder .event.m-notice").first.wait_for()  # the bot's greeting
    await playwright_api.expect(page.get_by_label("Model")).to_have_value("llama3:latest")

    await _send(page, "tell me forty words")
    await page.locator("#typing", has_text="is typing").wait_for()
    answer = _message(page, "word0")
    await answer.wait_for()
    partial = await answer.inner_text()
    assert "word39" not in partial, "the answer should be visible while it is still being written"
    await _message(page, "word39").wait_for(timeout=20000)
    assert await _message(page, "word0").count() == 1, "edits must not show as separate messages"
    assert (await answer.inner_text()).strip() == words
    await _shot(page, "ai")

    await page.reload()
    await _message(page, "word39").wait_for()
    assert await _message(page, "word0").count() == 1
    assert (await _message(page, "word0").inner_text()).strip() == words

    await page.get_by_label("Model").select_option("llava:latest")
    await page.get_by_text("now answers you with llava:latest").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Forget this conversation").click()
    await page.get_by_text("the assistant no longer remembers this conversation").wait_for()
    conversations = await page.context.request.get(f"{live_portal.url}/conversations")
    assert "Direct chat with the assistant" not in await conversations.text()  # nothing remembered


async def test_at_bot_in_public_from_the_browser_gets_the_answer(
    live_portal: LivePortal, chromium: Any, bot: BotProcess, ollama: OllamaDouble
) -> None:
    page, _ = await _person(chromium, live_portal, "publicasker")
    await _open_room(page, "Public")
    question = unique("what is the portal ")
    await _send(page, f"@bot {question}")
    await _message(page, f"You said: {question}").wait_for(timeout=20000)


async def test_html_in_messages_is_shown_as_text_and_never_runs(
    live_portal: LivePortal,
    chromium: Any,
    make_user: UserFactory,
    synapse: SynapseServer,
    bot: BotProcess,
    ollama: OllamaDouble,
) -> None:
    page, _ = await _person(chromium, live_portal, "reader")
    await _open_room(page, "Public")
    typed = f'<img src=x onerror="window.pwned=1">{unique("typed")}'
    await _send(page, typed)
    await _message(page, typed).wait_for()  # the very characters, as text

    mallory = await make_user("mallory")
    room_id = await mallory.join(f"#public:{synapse.server_name}")
    marker = unique("formatted")
    await mallory.send(
        room_id,
        marker,
        format="org.matrix.custom.html",
        formatted_body=f'<b>{marker}</b><img src=x onerror="window.pwned=2"><script>window.pwned=3</script>',
    )
    await page.locator("#timeline-holder .event .body b", has_text=marker).wait_for()

    bold = unique("answerbold")  # a model answering with HTML in its Markdown
    ollama.reply = lambda request: (
        f'<img src=x onerror="window.pwned=4"><script>window.pwned=5</script>**{bold}**'
    )
    await _send(page, "@bot answer in html please")
    await page.locator("#timeline-holder .event .body strong", has_text=bold).wait_for(timeout=20000)

    assert await page.locator("#timeline-holder img").count() == 0
    assert await page.locator("#timeline-holder script").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_an_outage_shows_the_banner_and_a_message_written_offline_is_sent_once(
    live_portal: LivePortal, chromium: Any
) -> None:
    page, _ = await _person(chromium, live_portal, "traveller")
    await _open_room(page, "Public")
    await live_portal.stop()
    banner = page.locator("#connection")
    await banner.get_by_text("reconnecting").wait_for()
    text = unique("written in the tunnel ")
    await _send(page, text)
    await page.locator(".event.pending .status", has_text="Not sent yet").wait_for()
    await _shot(page, "offline")

    await live_portal.start()
    await banner.wait_for(state="hidden", timeout=30000)
    sent = page.locator("#timeline-holder .event", has_text=text)
    await page.locator("#timeline-holder .event.pending").wait_for(state="detached", timeout=30000)
    await page.reload()
    await _message(page, text).wait_for()
    assert await sent.count() == 1


async def test_pictures_in_a_room_show_through_the_portal_media_proxy(
    live_portal: LivePortal, chromium: Any, make_user: UserFactory, synapse: SynapseServer
) -> None:
    from nio import UploadResponse

    page, _ = await _person(chromium, live_portal, "viewer")
    await _open_room(page, "Public")
    sharer = await make_user("sharer")
    room_id = await sharer.join(f"#public:{synapse.server_name}")
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(picture, "PNG")
    data = picture.getvalue()
    uploaded, _ = await sharer.client.upload(
        lambda *_: io.BytesIO(data), content_type="image/png", filesize=len(data)
    )
    assert isinstance(uploaded, UploadResponse)
    name = f"{unique('teal')}.png"
    await sharer.send(
        room_id,
        name,
        msgtype="m.image",
        url=uploaded.content_uri,
        info={"mimetype": "image/png", "w": 40, "h": 30},
    )
    image = page.get_by_role("img", name=name)
    await image.wait_for()
    assert (await image.get_attribute("src") or "").startswith("/media/")
    await page.wait_for_function(
        "(name) => document.querySelector(`img[alt='${name}']`).naturalWidth > 0", arg=name
    )


async def test_join_from_the_directory_and_scroll_back_through_history(
    live_portal: LivePortal, chromium: Any, make_user: UserFactory
) -> None:
    from nio import RoomCreateResponse, RoomVisibility

    archivist = await make_user("archivist")
    name = unique("Archive ")
    created = await archivist.client.room_create(visibility=RoomVisibility.public, name=name)
    assert isinstance(created, RoomCreateResponse)
    entries = 90  # more than the live sync (50) and a history page (30) show at first
    for i in range(entries):
        await archivist.send(created.room_id, f"entry {i:02d}")

    page, _ = await _person(chromium, live_portal, "reader")
    await page.get_by_text("Public rooms").click()
    await page.locator("#directory-list li", has_text=name).get_by_role("button", name="Join").click()
    await page.locator("#room-title", has_text=name).wait_for()
    await _message(page, f"entry {entries - 1}").wait_for()
    assert await _message(page, "entry 00").count() == 0  # the newest messages first

    shown = page.locator("#timeline-holder .event")
    for _ in range(10):  # each scroll to the top loads one older page
        if await _message(page, "entry 00").count():
            break
        before = await shown.count()
        await page.locator("#timeline-holder").evaluate(
            "holder => { holder.scrollTop = 0; holder.dispatchEvent(new Event('scroll')); }"
        )
        grown = "n => document.querySelectorAll('#timeline-holder .event').length > n"
        await page.wait_for_function(grown, arg=before)
    bodies = await page.locator("#timeline-holder .event .body").all_inner_texts()
    numbered = [text for text in bodies if text.startswith("entry ")]
    assert numbered == [f"entry {i:02d}" for i in range(entries)]


async def test_logging_out_elsewhere_takes_the_chat_page_to_the_login(
    live_portal: LivePortal, chromium: Any
) -> None:
    page, name = await _person(chromium, live_portal, "leaver")
    await _open_room(page, "Public")
    other_tab = await page.context.new_page()
    await other_tab.goto(f"{live_portal.url}/")
    await other_tab.get_by_role("button", name=f"Log out {name}").click()
    await page.wait_for_url("**/login**", timeout=45000)


async def test_markdown_typed_in_the_portal_is_sent_formatted(
    live_portal: LivePortal, chromium: Any, make_user: UserFactory, synapse: SynapseServer
) -> None:
    from nio import RoomMessagesResponse

    page, _ = await _person(chromium, live_portal, "writer")
    await _open_room(page, "Public")
    word = unique("strong")
    await _send(page, f"**{word}** and `code`\nsecond line")
    await page.locator("#timeline-holder .event.mine .body strong", has_text=word).wait_for()

    element_user = await make_user("elementuser")  # what another Matrix client receives
    room_id = await element_user.join(f"#public:{synapse.server_name}")
    found = await element_user.client.room_messages(room_id, start="", limit=50)
    assert isinstance(found, RoomMessagesResponse)
    contents = [event.source["content"] for event in found.chunk]
    sent = next(content for content in contents if word in content.get("body", ""))
    assert sent["body"] == f"**{word}** and `code`\nsecond line"
    assert f"<strong>{word}</strong>" in sent["formatted_body"]
    assert "<code>code</code>" in sent["formatted_body"]

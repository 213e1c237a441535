"""Every portal page checked with axe-core (WCAG 2.1 A and AA) in Debian's headless
Chromium, in the light and the dark theme, logged out and logged in (Room knowledge with
a file in every state included): no serious or critical violation anywhere (the
moderate ones are printed). And the chat, the gallery upload and the model picker used
with the keyboard alone, with a visible focus ring."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from PIL import Image

from appdb.knowledge import NewChunk, PostedFile
from appdb.models import KNOWLEDGE_FAILED
from portal.app_keys import ADMIN_ROLES, CONVERSATIONS, KNOWLEDGE, ROOM_NOTES
from tests import axe_scan
from tests import test_portal_chat_browser as chat_browser
from tests.axe_scan import Violation, report, scan_both_themes, serve_axe
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.ollama_double import OllamaDouble
from tests.test_portal_accounts import unique
from tests.test_portal_browser import ARTIFACTS
from tests.test_portal_chat_browser import LivePortal, _message, _open_room, _person, _send
from tests.test_portal_conversations_browser import room_with_persona

playwright_api = pytest.importorskip("playwright.async_api")
if chat_browser.CHROMIUM is None:
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")

# The chat's browser fixtures, shared: a portal on a real port, and one Chromium per test.
live_portal = chat_browser.live_portal
chromium = chat_browser.chromium

MATRIX_USER_PASSWORD = "correct horse battery"  # what tests.matrix_user registers accounts with
HOME = "Your own chat server, with an AI assistant"


@pytest.fixture
def axe_installed() -> None:
    reason = axe_scan.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        raise RuntimeError(f"the accessibility tests need axe-core in CI: {reason}")
    pytest.skip(reason)


def _fail_on_blocking(violations: list[Violation]) -> None:
    blocking = report(violations)
    assert not blocking, f"serious or critical accessibility violations:\n{blocking}"


async def _visit(page: Any, url: str, heading: str, status: int = 200) -> None:
    """Open a page and check it is the one meant (an error page would pass the scan too)."""
    response = await page.goto(url)
    assert response.status == status, f"{url} answered {response.status}"
    await playwright_api.expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def _picture(folder: Path, name: str, colour: str) -> Path:
    path = folder / name
    Image.new("RGB", (64, 48), colour).save(path, "PNG")
    return path


async def test_pages_logged_out_pass_axe_in_both_themes(
    live_portal: LivePortal, chromium: Any, axe_installed: None
) -> None:
    context = await chromium.new_context(viewport={"width": 1100, "height": 800})
    await serve_axe(context)
    page = await context.new_page()
    url = live_portal.url
    found: list[Violation] = []
    for label, path, heading, status in (
        ("home", "/", HOME, 200),
        ("login", "/login", "Log in", 200),
        ("signup", "/signup", "Create your account", 200),
        ("404", "/no-such-page", "Page not found", 404),
    ):
        await _visit(page, url + path, heading, status)
        found += await scan_both_themes(page, label)

    await page.goto(f"{url}/signup")
    await page.get_by_role("button", name="Sign up").click()  # empty: every field explains itself
    await page.locator("[aria-invalid=true]").first.wait_for()
    found += await scan_both_themes(page, "signup with errors")

    await page.goto(f"{url}/login")
    await page.get_by_label("Username").fill(unique("nobody"))
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await page.locator("#form-error").wait_for()
    found += await scan_both_themes(page, "login refused")
    await context.close()
    _fail_on_blocking(found)


async def _element_person(chromium: Any, portal: LivePortal, make_user: UserFactory) -> Any:
    """Someone whose account was made outside the portal (so never joined to #gallery),
    logged in to the portal in a browser of their own."""
    outsider = await make_user("outsider")
    context = await chromium.new_context(viewport={"width": 1100, "height": 800})
    await serve_axe(context)
    page = await context.new_page()
    await page.goto(f"{portal.url}/login")
    await page.get_by_label("Username").fill(outsider.user_id[1:].split(":")[0])
    await page.get_by_label("Password").fill(MATRIX_USER_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_text(f"Welcome, {outsider.user_id}").wait_for()
    return page


async def _unsent_messages(page: Any) -> list[Violation]:
    """Messages the portal refused (with Retry) and ones waiting for the connection, as a
    person sees them while the homeserver refuses or is down."""
    send = "**/chat/api/rooms/*/send"
    refusal = {"status": 403, "json": {"error": "You are not allowed to do that."}}
    await page.route(send, lambda route: route.fulfill(**refusal))
    await _send(page, unique("refused "))
    await page.locator(".event.failed").get_by_role("button", name="Retry").wait_for()
    await page.unroute(send)
    outage = {"status": 502, "json": {"error": "The chat server is unreachable."}}
    await page.route(send, lambda route: route.fulfill(**outage))
    waiting = unique("waiting ")
    await _send(page, waiting)
    await page.locator(".event.pending .status", has_text="Not sent yet").wait_for()
    found = await scan_both_themes(page, "chat: unsent messages")
    await page.unroute(send)
    await page.locator(".event.pending", has_text=waiting).wait_for(state="detached", timeout=20000)
    return found


async def _chat_with_everything(alice: Any, bob: Any, alice_name: str) -> list[Violation]:
    """The chat page with messages from two people, an invitation, an AI answer and the
    public-room directory open; scanned in #public and in the AI chat."""
    found: list[Violation] = []
    for page in (alice, bob):
        await _open_room(page, "Public")
    for sender, text in ((alice, unique("hello bob ")), (bob, unique("hi alice, **bold** and `code` "))):
        await _send(sender, text)
        await _message(alice, text.split("*")[0].strip()).wait_for()
    await bob.get_by_label("Chat privately with").fill(alice_name)
    await bob.get_by_role("button", name="Start private chat").click()
    await alice.locator("#room-list li", has_text="invitation from").wait_for()
    found += await scan_both_themes(alice, "chat: #public")
    found += await _unsent_messages(alice)

    await alice.get_by_role("navigation", name="Main").get_by_role("button", name="AI chat").click()
    await alice.locator("#room-title", has_text="AI assistant").wait_for()
    await alice.locator("#timeline-holder .event.m-notice").first.wait_for()  # the greeting
    await _send(alice, "what can you do")
    await _message(alice, "You said: what can you do").wait_for(timeout=20000)
    await alice.locator("#room-list li", has_text="invitation from").wait_for()
    await alice.get_by_text("Public rooms").click()
    await alice.locator("#directory-list li").first.wait_for()
    found += await scan_both_themes(alice, "chat: AI chat, invitation, directory")
    return found


async def _gallery_pages(page: Any, url: str, picture: Path) -> list[Violation]:
    """The gallery with a post, the viewer, and the upload result (without JavaScript)."""
    await page.goto(f"{url}/gallery")
    await page.get_by_label("Share images or videos").set_input_files(str(picture))
    await page.get_by_role("button", name="Upload").click()
    await page.get_by_role("img", name=picture.name).wait_for()
    found = await scan_both_themes(page, "gallery")
    await page.get_by_role("img", name=picture.name).click()
    await page.wait_for_url(re.compile(r"/gallery/view/"))
    found += await scan_both_themes(page, "gallery viewer")

    await page.goto(f"{url}/gallery")
    await page.get_by_label("Share images or videos").set_input_files(str(picture))
    async with page.expect_navigation():  # the form's own post, as without JavaScript
        await page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('upload-form'))")
    await page.get_by_role("heading", name="Upload").wait_for()
    found += await scan_both_themes(page, "upload result")
    return found


async def test_pages_logged_in_pass_axe_in_both_themes(
    live_portal: LivePortal,
    chromium: Any,
    make_user: UserFactory,
    bot: BotProcess,
    ollama: OllamaDouble,
    axe_installed: None,
    tmp_path: Path,
) -> None:
    alice, alice_name = await _person(chromium, live_portal, "alice")
    bob, _ = await _person(chromium, live_portal, "bob")
    await serve_axe(alice.context)
    url = live_portal.url
    found = await _chat_with_everything(alice, bob, alice_name)
    await bob.context.close()

    for label, path, heading, status in (
        ("home", "/", HOME, 200),
        ("models", "/models", "Your AI model", 200),
        ("404", "/no-such-page", "Page not found", 404),
    ):
        await _visit(alice, url + path, heading, status)
        found += await scan_both_themes(alice, label)
    found += await _conversation_pages(alice, live_portal, alice_name)

    found += await _gallery_pages(alice, url, _picture(tmp_path, "harbour.png", "navy"))
    found += await _knowledge_pages(alice, live_portal, alice_name, tmp_path)
    found += await _admin_pages(alice, live_portal, alice_name)

    assert alice.errors == []
    await alice.context.close()

    outsider = await _element_person(chromium, live_portal, make_user)
    await _visit(outsider, f"{url}/gallery", "Gallery")
    join = outsider.get_by_role("button", name="Join the gallery to see and share photos")
    found += await scan_both_themes(outsider, "gallery join")
    await join.click()
    await outsider.get_by_role("img", name="harbour.png").first.wait_for()
    _fail_on_blocking(found)


async def _knowledge_pages(page: Any, portal: LivePortal, name: str, folder: Path) -> list[Violation]:
    """Room knowledge with a file in every state, and with an upload refused (the form's
    own post, as without JavaScript). The files are recorded as the bot records them."""
    await _visit(page, f"{portal.url}/knowledge", "Room knowledge")
    found = await scan_both_themes(page, "knowledge: as opened")
    assert portal._runner is not None
    store = portal._runner.app[KNOWLEDGE]
    public = await page.locator("#knowledge-room option", has_text="Public").get_attribute("value")
    me = f"@{name}:{portal.settings.server_name}"
    ids = [f"${unique('axe')}:{portal.settings.server_name}" for _ in range(4)]
    for event_id, file_name, uploader in zip(
        ids,
        ("queued.pdf", "reading.pdf", "ready.md", "broken.pdf"),
        (me, me, "@someone:else", me),
        strict=True,
    ):
        await store.add_file(PostedFile(event_id, public, uploader, file_name, "application/pdf", 0))
    await store.start_reading(ids[1], pages=8)
    await store.append_chunks(ids[1], public, [], 0, progress=40)
    await store.add_chunks(ids[2], public, [NewChunk("section 1", "text", [1.0, 0.0])], pages=1)
    await store.set_state(ids[3], KNOWLEDGE_FAILED, "broken.pdf has no text that can be read.")
    try:
        await page.reload()
        await page.get_by_text("Being read: 40% done").wait_for()
        found += await scan_both_themes(page, "knowledge")
        await page.get_by_label("File", exact=True).set_input_files(str(_picture(folder, "photo.png", "red")))
        async with page.expect_navigation():
            await page.get_by_role("button", name="Add to the room's knowledge").click()
        await page.get_by_role("alert").wait_for()
        found += await scan_both_themes(page, "knowledge: upload refused")
    finally:
        for event_id in ids:
            await store.remove(event_id)
    return found


async def _conversation_pages(page: Any, portal: LivePortal, name: str) -> list[Violation]:
    """My AI conversations with the AI chat, and a room with a persona and notes; then the
    AI chat's conversation."""
    assert portal._runner is not None
    me = f"@{name}:{portal.settings.server_name}"
    conversations, notes = portal._runner.app[CONVERSATIONS], portal._runner.app[ROOM_NOTES]
    for _ in range(100):  # the bot stores the turn just after its answer's final edit
        if ai_chat := await conversations.overview(me):
            break
        await asyncio.sleep(0.1)
    club = await room_with_persona(portal, name, "Book club", "You are the club's patient librarian.")
    await conversations.append_turn(me, club, "which book is next?", "The one you chose.")
    for text in ("We meet on fridays at 19:00", "Bring the book you are reading"):
        await notes.add(club, me, text, 1_700_000_000_000)
    await _visit(page, f"{portal.url}/conversations", "My AI conversations")
    await page.get_by_text("We meet on fridays at 19:00").wait_for()
    found = await scan_both_themes(page, "conversations: private and shared")
    await page.locator(f'a[href="/conversations/{quote(ai_chat[0].room_id, safe="")}"]').click()
    await page.get_by_text("You said: what can you do").wait_for()
    found += await scan_both_themes(page, "conversation")
    return found


async def _admin_pages(page: Any, portal: LivePortal, name: str) -> list[Violation]:
    """The admin area, with a person to act on, a code made with its form, and the log."""
    assert portal._runner is not None
    await portal._runner.app[ADMIN_ROLES].grant(f"@{name}:{portal.settings.server_name}", "test")
    found: list[Violation] = []
    await _visit(page, f"{portal.url}/admin/people", "People")
    found += await scan_both_themes(page, "admin people")
    await _visit(page, f"{portal.url}/admin/codes", "Invitation codes")
    await page.get_by_role("button", name="Create code").click()
    await page.get_by_text("New invitation code:").wait_for()
    found += await scan_both_themes(page, "admin codes")
    await _visit(page, f"{portal.url}/admin/assistant", "Assistant")
    found += await scan_both_themes(page, "admin assistant")
    await _visit(page, f"{portal.url}/admin/usage", "Usage")
    found += await scan_both_themes(page, "admin usage")
    await _visit(page, f"{portal.url}/admin/audit", "Audit log")
    await page.get_by_role("cell", name="create code").wait_for()
    found += await scan_both_themes(page, "admin audit")
    return found


async def _tab_to(page: Any, target: Any, limit: int = 40) -> None:
    """Press Tab until `target` has the focus (it must be reachable within `limit`)."""
    await target.wait_for()
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} was not reached with {limit} presses of Tab")


_RING = """element => {
  const style = getComputedStyle(element);
  let behind = element.parentElement;
  while (behind && getComputedStyle(behind).backgroundColor.endsWith(', 0)')) behind = behind.parentElement;
  return {
    style: style.outlineStyle, width: parseFloat(style.outlineWidth), colour: style.outlineColor,
    shadow: style.boxShadow, behind: getComputedStyle(behind || document.documentElement).backgroundColor,
    visible: element.matches(':focus-visible'),
  };
}"""


def _luminance(css_colour: str) -> float:
    red, green, blue = (float(part) / 255 for part in re.findall(r"\d+(?:\.\d+)?", css_colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def _assert_focus_ring(page: Any, what: str) -> None:
    """The element focused by keyboard shows a ring: at least 2px (Chromium's own is 1px)
    and 3:1 against what is behind it (WCAG 1.4.11), or a box-shadow."""
    ring = await page.evaluate(f"({_RING})(document.activeElement)")
    assert ring["visible"], f"{what}: focused by keyboard but not :focus-visible"
    if ring["style"] == "none" or ring["width"] == 0:
        assert ring["shadow"] != "none", f"{what}: no visible focus indicator ({ring})"
        return
    assert ring["width"] >= 2, f"{what}: the focus outline is too thin ({ring})"
    contrast = _contrast(ring["colour"], ring["behind"])
    assert contrast >= 3, f"{what}: the focus outline has {contrast:.1f}:1 against {ring['behind']}"


async def _skip_to_content(page: Any) -> None:
    """The first Tab on a page reaches the skip link; Enter jumps past the navigation."""
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert await skip.evaluate("element => element === document.activeElement")
    await _assert_focus_ring(page, "the skip link")
    await page.keyboard.press("Enter")


async def _keyboard_chat(page: Any) -> None:
    public = page.locator("#room-list .room-button").filter(
        has=page.locator(".room-name", has_text=re.compile("^Public$"))
    )
    await _tab_to(page, public)
    await _assert_focus_ring(page, "a room in the room list")
    await page.keyboard.press("Enter")
    await page.locator("#room-title", has_text="Public").wait_for()
    await _tab_to(page, page.get_by_label("Message", exact=True))
    await _assert_focus_ring(page, "the message field")
    text = unique("typed with the keyboard alone ")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")
    await page.locator("#timeline-holder .event.mine .body", has_text=text).wait_for()
    await page.locator("#timeline-holder .event.pending").wait_for(state="detached")


async def _keyboard_go_to(page: Any, link: str) -> None:
    """Follow a link of the main navigation with the keyboard."""
    await _tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name=link))
    await _assert_focus_ring(page, f"the {link} link")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def _keyboard_theme(page: Any, theme: str) -> None:
    """Switch the theme with the toggle, by keyboard (the ring is checked on the new theme)."""
    await _tab_to(page, page.locator("#theme-toggle"))
    await page.keyboard.press("Enter")
    await page.wait_for_function("(t) => document.documentElement.dataset.theme === t", arg=theme)
    await _assert_focus_ring(page, f"the theme toggle ({theme})")


async def _keyboard_upload(page: Any, picture: Path) -> None:
    # Listening first has Playwright take over file choosers before the key is pressed
    # (`expect_file_chooser` turns that on without waiting, a race with the key press).
    choosers: asyncio.Queue[Any] = asyncio.Queue()
    page.on("filechooser", choosers.put_nowait)
    await _skip_to_content(page)
    await _tab_to(page, page.get_by_label("Share images or videos"))
    await _assert_focus_ring(page, "the file field")
    await page.keyboard.press("Space")
    chooser = await asyncio.wait_for(choosers.get(), timeout=10)
    await chooser.set_files(str(picture))
    await _tab_to(page, page.get_by_role("button", name="Upload"))
    await _assert_focus_ring(page, "the Upload button")
    async with page.expect_navigation():  # the page reloads once the upload is shared
        await page.keyboard.press("Enter")
    await page.get_by_role("img", name=picture.name).wait_for()


async def _keyboard_model(page: Any) -> None:
    await _skip_to_content(page)
    await _tab_to(page, page.get_by_label("llama3:latest"))  # Tab enters the group on its checked radio
    await _assert_focus_ring(page, "the chosen model")
    await page.keyboard.press("ArrowDown")
    assert await page.get_by_label("llava:latest").is_checked()
    await _tab_to(page, page.get_by_role("button", name="Save"))
    await _assert_focus_ring(page, "the Save button")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.get_by_text("Saved: the assistant now answers you with llava:latest.").wait_for()
    assert await page.locator("#current-model").inner_text() == "llava:latest"


async def test_the_chat_the_gallery_upload_and_the_model_picker_work_with_the_keyboard_alone(
    live_portal: LivePortal, chromium: Any, tmp_path: Path
) -> None:
    page, _ = await _person(chromium, live_portal, "keyboard")  # on /chat, light theme
    try:
        await _keyboard_chat(page)
        await _keyboard_theme(page, "dark")
        await _keyboard_go_to(page, "Gallery")
        await _keyboard_upload(page, _picture(tmp_path, "lighthouse.png", "white"))
        await _keyboard_go_to(page, "AI model")
        await _keyboard_model(page)
        await _keyboard_theme(page, "light")
    except AssertionError:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "keyboard-failure.png"), full_page=True)
        raise
    assert page.errors == []

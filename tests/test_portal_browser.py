"""A person in a real browser (Debian's headless Chromium, driven by Playwright):
sign up → log in → choose a model → upload an image → see it in the gallery → toggle
the theme → log out. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image

from portal.app import create_app
from stack.settings import REPO_ROOT
from tests.ollama_double import OllamaDouble, free_port
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is required in CI (Debian package `chromium`)")
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")


@pytest.fixture
async def portal_url(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[str]:
    runner = web.AppRunner(create_app(portal_settings(synapse, ollama.base_url)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_person_walks_through_the_portal(portal_url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture = tmp_path / "sunset.png"
    Image.new("RGB", (64, 48), "orange").save(picture, "PNG")
    name, password = unique("walker"), "a long passphrase 42"

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        shot = lambda step: page.screenshot(path=str(ARTIFACTS / f"{step}.png"), full_page=True)  # noqa: E731

        await page.goto(f"{portal_url}/signup")
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_label("Password again").fill(password)
        await shot("1-signup")
        await page.get_by_role("button", name="Sign up").click()
        await page.get_by_text(f"Welcome, @{name}:").wait_for()

        await page.get_by_role("button", name=f"Log out {name}").click()
        await page.goto(f"{portal_url}/login")
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_text(f"Welcome, @{name}:").wait_for()
        await shot("2-logged-in")

        nav = page.get_by_role("navigation", name="Main")
        await nav.get_by_role("link", name="AI model").click()
        await page.get_by_label("llava:latest").check()
        await page.get_by_role("button", name="Save").click()
        await page.get_by_text("now answers you with llava:latest").wait_for()
        assert await page.locator("#current-model").inner_text() == "llava:latest"
        await shot("3-model")

        await nav.get_by_role("link", name="Gallery").click()
        await page.get_by_label("Share images or videos").set_input_files(str(picture))
        await page.get_by_role("button", name="Upload").click()
        await page.get_by_role("img", name="sunset.png").wait_for()
        assert await page.locator("#upload-progress").count() == 1
        await shot("4-gallery")

        html = page.locator("html")
        before = await html.get_attribute("data-theme")
        await page.locator("#theme-toggle").click()
        after = await html.get_attribute("data-theme")
        assert {before, after} == {"light", "dark"}
        await page.reload()
        assert await html.get_attribute("data-theme") == after  # remembered
        await shot("5-theme")

        await page.get_by_role("button", name=f"Log out {name}").click()
        await nav.get_by_role("link", name="Log in").wait_for()
        await page.goto(f"{portal_url}/gallery")
        assert "/login" in page.url
        await shot("6-logged-out")
        await browser.close()
    assert Image.open(io.BytesIO((ARTIFACTS / "4-gallery.png").read_bytes())).width > 0

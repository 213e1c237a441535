"""Sign-up modes in a real browser (Debian's Chromium): with SIGNUP_MODE=token a person
fills in the invitation code an admin made, a wrong code is explained next to its field,
and the right one signs them in; with SIGNUP_MODE=closed the page says so and offers no
form, and neither the menu nor the login page links to it; with SIGNUP_MODE=approval
a new account waits, is told so, and can log in once the admin approves it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from common import secrets as app_secrets
from portal.admin.homeserver import HomeserverAdmin
from portal.app import create_app
from tests.ollama_double import OllamaDouble, free_port
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique
from tests.test_portal_browser import CHROMIUM, CHROMIUM_ARGS, playwright_api

if CHROMIUM is None:
    pytestmark = pytest.mark.skip(reason="Debian's chromium is not installed")

PASSWORD = "a long passphrase 42"


async def _portal(synapse: SynapseServer, ollama: OllamaDouble, mode: str) -> tuple[web.AppRunner, str]:
    settings = portal_settings(synapse, ollama.base_url, SIGNUP_MODE=mode, PORTAL_SIGNUP_RATE="1000/hour")
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_an_invitation_code_in_the_browser(
    synapse: SynapseServer, ollama: OllamaDouble, chromium: object
) -> None:
    runner, url = await _portal(synapse, ollama, "token")
    try:
        async with aiohttp.ClientSession() as http:
            token = app_secrets.read_secret(synapse.settings.data_dir, app_secrets.PORTAL_ADMIN_TOKEN)
            admin = HomeserverAdmin(http, synapse.url, token)
            code = await admin.create_code(1, int((time.time() + 3600) * 1000))
        page = await chromium.new_page()  # type: ignore[attr-defined]
        name = unique("guest")
        await page.goto(f"{url}/signup")
        await page.get_by_label("Invitation code").fill("WRONGCODE")
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("Password again").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        code_field = page.get_by_label("Invitation code")
        await playwright_api.expect(code_field).to_have_attribute("aria-invalid", "true")
        await playwright_api.expect(page.locator("#code-error")).to_contain_text("does not work")

        await code_field.fill(code)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("Password again").fill(PASSWORD)
        await page.get_by_role("button", name="Sign up").click()
        await playwright_api.expect(page.get_by_role("button", name=f"Log out {name}")).to_be_visible()
    finally:
        await runner.cleanup()


async def test_a_closed_server_offers_no_sign_up_in_the_browser(
    synapse: SynapseServer, ollama: OllamaDouble, chromium: object
) -> None:
    runner, url = await _portal(synapse, ollama, "closed")
    try:
        page = await chromium.new_page()  # type: ignore[attr-defined]
        await page.goto(f"{url}/signup")
        await playwright_api.expect(page.get_by_role("status")).to_contain_text("Sign-up is closed")
        assert await page.get_by_label("Username").count() == 0
        await page.goto(f"{url}/login")
        assert await page.get_by_role("link", name="Sign up").count() == 0
    finally:
        await runner.cleanup()


async def test_an_account_waiting_for_approval_in_the_browser(
    approval_synapse: SynapseServer, ollama: OllamaDouble, chromium: object, tmp_path: Path
) -> None:
    """The first account is approved and is the admin; the next one is told it waits, cannot
    log in until the admin approves it in the People page, and then can."""
    settings = portal_settings(
        approval_synapse,
        ollama.base_url,
        ADMIN_USERS="",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        PORTAL_SIGNUP_RATE="1000/hour",
    )
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        admin = await chromium.new_context()  # type: ignore[attr-defined]
        admin_page = await admin.new_page()
        await _sign_up(admin_page, url, unique("boss"))
        await playwright_api.expect(admin_page.get_by_role("link", name="Admin")).to_be_visible()

        newcomer = await (await chromium.new_context()).new_page()  # type: ignore[attr-defined]
        name = unique("patient")
        await _sign_up(newcomer, url, name)
        await playwright_api.expect(newcomer.get_by_role("status")).to_contain_text("waiting for approval")
        await _log_in(newcomer, url, name)
        await playwright_api.expect(newcomer.get_by_role("alert")).to_contain_text("waiting for approval")

        await admin_page.goto(f"{url}/admin/people")
        await admin_page.get_by_role("button", name=f"Approve @{name}:").click()
        await playwright_api.expect(admin_page.get_by_role("status")).to_contain_text("approved")
        await _log_in(newcomer, url, name)
        await playwright_api.expect(newcomer.get_by_role("button", name=f"Log out {name}")).to_be_visible()
    finally:
        await runner.cleanup()


async def _sign_up(page: Any, url: str, name: str) -> None:
    await page.goto(f"{url}/signup")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()


async def _log_in(page: Any, url: str, name: str) -> None:
    await page.goto(f"{url}/login")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()

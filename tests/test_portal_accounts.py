"""Portal accounts through the real Synapse: sign-up, login, logout, sessions, CSRF,
throttling and security headers."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import create_app
from portal.config import PortalSettings
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import TEST_OVERLAY, SynapseServer, start_synapse

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}x{int(time.time() * 1000) % 10**7}"


def portal_settings(synapse: SynapseServer, ollama_url: str, **env: str) -> PortalSettings:
    # A named admin, so that no test's sign-up becomes the admin as the first account;
    # tests of the admin area name their own.
    return PortalSettings.from_env(
        {
            **synapse.env(),
            "OLLAMA_BASE_URL": ollama_url,
            "PORTAL_TRUSTED_PROXIES": "127.0.0.1",
            "ADMIN_USERS": "boss",
            **env,
        }
    )


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(portal_settings(synapse, ollama.base_url)))) as client:
        yield client


async def _joined_rooms(synapse: SynapseServer, user_id: str) -> set[str]:
    url = f"{synapse.url}/_synapse/admin/v1/users/{quote(user_id)}/joined_rooms"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Bearer {synapse.provisioned.admin_token}"}) as r,
    ):
        return set((await r.json())["joined_rooms"])


async def test_sign_up_creates_the_account_joins_the_rooms_and_logs_in(
    portal: TestClient, synapse: SynapseServer
) -> None:
    browser = Browser(portal)
    name = unique("newbie")
    response = await browser.sign_up(name)
    assert response.status == 303 and response.headers["Location"] == "/"
    home = await (await browser.get("/")).text()
    assert f"@{name}:{synapse.server_name}" in home
    rooms = await _joined_rooms(synapse, f"@{name}:{synapse.server_name}")
    assert set(synapse.provisioned.room_ids.values()) <= rooms


@pytest.mark.parametrize(
    ("username", "password", "confirm", "field", "message"),
    [
        ("Bad Name", "a long passphrase 42", "a long passphrase 42", "username", "lowercase letters"),
        ("ab", "a long passphrase 42", "a long passphrase 42", "username", "3 to 32"),
        ("12345", "a long passphrase 42", "a long passphrase 42", "username", "only digits"),
        ("bot", "a long passphrase 42", "a long passphrase 42", "username", "reserved"),
        ("validname", "short", "short", "password", "at least 8"),
        ("validname", "password123", "password123", "password", "most common"),
        ("validname", "a long passphrase 42", "a different one 42", "confirm", "differ"),
    ],
)
async def test_sign_up_explains_what_is_wrong_next_to_the_field(
    portal: TestClient, username: str, password: str, confirm: str, field: str, message: str
) -> None:
    response = await Browser(portal).post(
        "/signup", {"username": username, "password": password, "confirm": confirm}
    )
    assert response.status == 400
    html = await response.text()
    assert f'id="{field}-error"' in html and message in html
    assert f'aria-describedby="{field}-error"' in html


async def test_long_passwords_are_allowed(portal: TestClient) -> None:
    response = await Browser(portal).sign_up(unique("long"), password="x9" * 40)
    assert response.status == 303


async def test_a_taken_name_gets_a_clear_message(portal: TestClient) -> None:
    name = unique("taken")
    assert (await Browser(portal).sign_up(name)).status == 303
    response = await Browser(portal, "203.0.113.9").sign_up(name)
    assert response.status == 400
    assert "That username is taken" in await response.text()


async def test_login_failures_do_not_reveal_whether_the_account_exists(portal: TestClient) -> None:
    name = unique("real")
    await Browser(portal).sign_up(name)
    wrong_password = await Browser(portal, "198.51.100.1").log_in(name, "not the password")
    no_such_user = await Browser(portal, "198.51.100.2").log_in(unique("ghost"), "not the password")
    assert wrong_password.status == no_such_user.status == 400
    assert "Wrong username or password." in await wrong_password.text()
    assert "Wrong username or password." in await no_such_user.text()


async def test_login_gives_a_fresh_session_and_logout_ends_the_matrix_device(
    portal: TestClient, synapse: SynapseServer
) -> None:
    name = unique("cycle")
    await Browser(portal).sign_up(name)
    browser = Browser(portal, "198.51.100.7")
    before = portal.session.cookie_jar.filter_cookies(portal.make_url("/")).get("portal_session")
    response = await browser.log_in(name)
    assert response.status == 303
    cookie = portal.session.cookie_jar.filter_cookies(portal.make_url("/")).get("portal_session")
    assert cookie is not None and (before is None or cookie.value != before.value)
    set_cookie = response.headers.getall("Set-Cookie")[0]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie

    from sqlalchemy import select

    from appdb.engine import make_engine
    from appdb.models import PortalLogin

    engine = make_engine(portal_settings(synapse, "http://127.0.0.1:1").database_url)
    async with engine.connect() as connection:
        token = (
            (
                await connection.execute(
                    select(PortalLogin.access_token).where(PortalLogin.user_id.like(f"@{name}:%"))
                )
            )
            .scalars()
            .all()[-1]
        )
    await engine.dispose()
    assert token not in cookie.value  # the Matrix token never travels to the browser

    assert (await browser.post("/logout", {}, page="/")).status == 303
    assert "Log in" in await (await browser.get("/")).text()
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{synapse.url}/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}
        ) as whoami,
    ):
        assert whoami.status == 401


async def test_posts_without_the_csrf_token_or_from_another_site_are_refused(portal: TestClient) -> None:
    browser = Browser(portal)
    no_token = await portal.post(
        "/login", data={"username": "a", "password": "b"}, headers=browser.headers(Origin=browser.origin)
    )
    assert no_token.status == 403
    token = await browser.csrf("/login")
    other_site = await portal.post(
        "/login",
        data={"username": "a", "password": "b", "csrf_token": token},
        headers=browser.headers(Origin="https://evil.example"),
    )
    assert other_site.status == 403
    assert "another site" in await other_site.text()


async def test_login_is_throttled_per_account_with_a_clear_wait(portal: TestClient) -> None:
    name = unique("target")
    await Browser(portal).sign_up(name)
    responses = [await Browser(portal, f"192.0.2.{i}").log_in(name, "wrong guess") for i in range(7)]
    texts = [await r.text() for r in responses]
    assert "Wrong username or password." in texts[0]
    assert any("Too many login attempts. Try again in" in t for t in texts[5:])


async def test_pages_carry_strict_security_headers(portal: TestClient) -> None:
    response = await portal.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


# --- against Synapse's real login throttle -----------------------------------------------


@pytest.fixture(scope="module")
def default_limits_synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    overlay = {key: value for key, value in TEST_OVERLAY.items() if key != "rc_login"}
    server = start_synapse(tmp_path_factory.mktemp("default-limits"), overlays=(overlay,))
    yield server
    server.stop()


async def test_twenty_people_log_in_one_after_another(
    default_limits_synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    settings = portal_settings(
        default_limits_synapse,
        ollama.base_url,
        DATA_DIR=str(default_limits_synapse.settings.data_dir),
        PORTAL_SIGNUP_RATE="100/hour",  # this test is about Synapse's login throttle
    )
    async with TestClient(TestServer(create_app(settings))) as portal:
        names = [unique("crowd") for _ in range(20)]
        for i, name in enumerate(names):
            assert (await Browser(portal, f"203.0.113.{i + 1}").sign_up(name)).status == 303
        portal.session.cookie_jar.clear()
        for i, name in enumerate(names):
            response = await Browser(portal, f"203.0.113.{i + 1}").log_in(name)
            assert response.status == 303, f"login {i + 1} refused: {await response.text()}"

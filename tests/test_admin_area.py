"""Who may join and who runs the place, through the real Synapse: the first account is the
admin, every admin URL refuses everyone else, invitation codes (made in the admin area,
used in the portal and in a Matrix client's registration, used up, revoked, tried too
often), a closed sign-up, deactivation that ends every session and device at once, the
admin role given and taken, and the audit log that keeps no code."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from common.synapse_admin import register_with_token
from common.synapse_errors import Forbidden
from portal.accounts import views as account_views
from portal.admin.views import NOT_AN_ADMIN
from portal.app import create_app
from portal.app_keys import ADMIN_ROLES, SETTINGS
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

PASSWORD = "a long passphrase 42"
CODE = re.compile(r"New invitation code: ([A-Z0-9]+)")


async def _portal(synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path, **env: str) -> TestClient:
    """A portal with an app database of its own (so 'the first account' is this test's)."""
    settings = portal_settings(
        synapse,
        ollama.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        PORTAL_SIGNUP_RATE="1000/hour",
        **env,
    )
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


@pytest.fixture
async def first_admin_portal(
    synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> AsyncIterator[TestClient]:
    client = await _portal(synapse, ollama, tmp_path, ADMIN_USERS="")
    yield client
    await client.close()


Browsers = Callable[[TestClient, str], Awaitable[Browser]]


@pytest.fixture
async def browsers() -> AsyncIterator[Browsers]:
    """Each person in a browser of their own (their own cookie jar) on a running portal."""
    opened: list[TestClient] = []

    async def open_browser(portal: TestClient, address: str) -> Browser:
        client = TestClient(portal.server)
        await client.start_server()  # the server already runs; this opens a session
        opened.append(client)
        return Browser(client, address)

    yield open_browser
    for client in opened:
        await client.session.close()


async def _signed_up(
    browsers: Browsers, portal: TestClient, address: str, name: str | None = None
) -> tuple[Browser, str]:
    browser = await browsers(portal, address)
    username = name or unique("member")
    response = await browser.sign_up(username, PASSWORD)
    assert response.status == 303, await response.text()
    return browser, username


def _admin_routes(portal: TestClient) -> list[tuple[str, str]]:
    routes = [
        (route.method, route.resource.canonical)
        for route in portal.server.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/admin")
    ]
    return [(method, path) for method, path in routes if method in {"GET", "POST"}]


async def test_the_first_account_is_the_admin_and_the_next_is_not(
    browsers: Browsers, first_admin_portal: TestClient
) -> None:
    admin, _ = await _signed_up(browsers, first_admin_portal, "203.0.113.120")
    home = await (await admin.get("/")).text()
    assert "first account on this server" in home and 'href="/admin"' in home
    assert (await admin.get("/admin/people")).status == 200

    member, _ = await _signed_up(browsers, first_admin_portal, "203.0.113.121")
    assert 'href="/admin"' not in await (await member.get("/")).text()
    refused = await member.get("/admin/people")
    assert refused.status == 403 and NOT_AN_ADMIN in await refused.text()


async def test_every_admin_url_and_action_refuses_an_ordinary_person(
    browsers: Browsers, first_admin_portal: TestClient
) -> None:
    await _signed_up(browsers, first_admin_portal, "203.0.113.122")  # the admin
    member, member_name = await _signed_up(browsers, first_admin_portal, "203.0.113.123")
    routes = _admin_routes(first_admin_portal)
    assert len(routes) >= 10, routes
    for method, path in routes:
        if method == "GET":
            response = await member.get(path, allow_redirects=False)
        else:
            response = await member.post(
                path, {"user_id": f"@{member_name}:localhost", "code": "X"}, page="/"
            )
        assert response.status == 403, (method, path, response.status)
    # And a visitor is sent to log in (pages) or refused (actions: no session, no token).
    visitor = await browsers(first_admin_portal, "203.0.113.124")
    async with aiohttp.ClientSession(base_url=str(first_admin_portal.make_url("/"))) as fresh:
        for method, path in routes:
            async with fresh.request(
                method, path, allow_redirects=False, headers=visitor.headers()
            ) as response:
                assert response.status in {303, 403}, (method, path, response.status)
                if response.status == 303:
                    assert response.headers["Location"].startswith("/login")


async def _new_code(admin: Browser, uses: str = "1", days: str = "7") -> str:
    created = await admin.post("/admin/codes", {"uses": uses, "days": days}, page="/admin/codes")
    assert created.status == 303
    page = await (await admin.get("/admin/codes")).text()
    match = CODE.search(page)
    assert match, "the new code was not shown"
    return match.group(1)


async def test_invitation_codes_made_by_an_admin_let_people_in_once_here_and_in_matrix_clients(
    browsers: Browsers,
    synapse: SynapseServer,
    ollama: OllamaDouble,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_name = unique("chief")
    open_portal = await _portal(synapse, ollama, tmp_path, ADMIN_USERS=admin_name)
    token_portal = await _portal(synapse, ollama, tmp_path, ADMIN_USERS=admin_name, SIGNUP_MODE="token")
    try:
        admin, _ = await _signed_up(browsers, open_portal, "203.0.113.125", admin_name)
        code = await _new_code(admin)
        codes_page = await (await admin.get("/admin/codes")).text()
        assert code in codes_page
        assert open_portal.server.app[SETTINGS].registration_token() not in codes_page  # the portal's own

        newcomer = await browsers(token_portal, "203.0.113.126")
        form = await (await newcomer.get("/signup")).text()
        assert 'name="code"' in form
        name = unique("invited")
        without = await newcomer.post(
            "/signup", {"username": name, "password": PASSWORD, "confirm": PASSWORD}
        )
        assert without.status == 400 and "Enter the invitation code" in await without.text()
        wrong = await newcomer.post(
            "/signup", {"username": name, "password": PASSWORD, "confirm": PASSWORD, "code": "NOTACODE"}
        )
        assert wrong.status == 400 and account_views.BAD_CODE in await wrong.text()
        right = await newcomer.post(
            "/signup", {"username": name, "password": PASSWORD, "confirm": PASSWORD, "code": code}
        )
        assert right.status == 303, await right.text()
        assert f"@{name}:" in await (await newcomer.get("/")).text()

        second = await browsers(token_portal, "203.0.113.127")
        used_up = await second.post(
            "/signup", {"username": unique("late"), "password": PASSWORD, "confirm": PASSWORD, "code": code}
        )
        assert used_up.status == 400 and account_views.BAD_CODE in await used_up.text()

        # A code works in a Matrix client's own registration, on Synapse's client port.
        element_code = await _new_code(admin)
        async with aiohttp.ClientSession() as http:
            element_name = unique("element")
            made = await register_with_token(
                http, synapse.url, element_code, element_name, PASSWORD, device_name="Element"
            )
            assert made.user_id == f"@{element_name}:{synapse.server_name}"
            # A revoked code no longer does.
            revoked_code = await _new_code(admin)
            revoked = await admin.post("/admin/codes/revoke", {"code": revoked_code}, page="/admin/codes")
            assert revoked.status == 303
            assert revoked_code not in await (await admin.get("/admin/codes")).text()
            with pytest.raises(Forbidden):
                await register_with_token(
                    http, synapse.url, revoked_code, unique("nope"), PASSWORD, device_name="x"
                )

        audit = await (await admin.get("/admin/audit")).text()
        assert "create code" in audit and "revoke code" in audit and f"…{code[-4:]}" in audit
        for secret in (code, element_code, revoked_code):
            assert secret not in audit, "the audit log keeps a whole code"
            assert secret not in caplog.text, "a code reached the logs"
    finally:
        await open_portal.close()
        await token_portal.close()


async def test_invitation_codes_tried_too_often_are_refused_before_synapse_is_asked(
    browsers: Browsers, synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    portal = await _portal(synapse, ollama, tmp_path, SIGNUP_MODE="token", PORTAL_INVITE_TRIES="3/hour")
    try:
        guesser = await browsers(portal, "203.0.113.128")
        answers = []
        for attempt in range(4):
            form = {
                "username": unique("guess"),
                "password": PASSWORD,
                "confirm": PASSWORD,
                "code": f"GUESS{attempt}",
            }
            answers.append(await (await guesser.post("/signup", form)).text())
        assert all(account_views.BAD_CODE in answer for answer in answers[:3])
        assert "Too many invitation codes tried" in answers[3]
    finally:
        await portal.close()


async def test_a_closed_server_offers_no_sign_up(
    browsers: Browsers, synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    portal = await _portal(synapse, ollama, tmp_path, SIGNUP_MODE="closed")
    try:
        visitor = await browsers(portal, "203.0.113.129")
        page = await (await visitor.get("/signup")).text()
        assert "Sign-up is closed" in page and 'name="username"' not in page
        assert 'href="/signup"' not in await (await visitor.get("/login")).text()
        form = {"username": unique("shut"), "password": PASSWORD, "confirm": PASSWORD}
        refused = await visitor.post("/signup", form, page="/login")
        assert refused.status == 403 and "Sign-up is closed" in await refused.text()
    finally:
        await portal.close()


async def _matrix_login(synapse: SynapseServer, username: str) -> tuple[int, dict[str, object]]:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": PASSWORD,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{synapse.url}/_matrix/client/v3/login", json=body) as r,
    ):
        return r.status, await r.json()


async def _whoami(synapse: SynapseServer, token: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{synapse.url}/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        return response.status


async def test_deactivation_ends_every_portal_session_and_matrix_device_at_once(
    browsers: Browsers, first_admin_portal: TestClient, synapse: SynapseServer
) -> None:
    admin, _ = await _signed_up(browsers, first_admin_portal, "203.0.113.130")
    member, member_name = await _signed_up(browsers, first_admin_portal, "203.0.113.131")
    member_id = f"@{member_name}:{synapse.server_name}"
    status, element = await _matrix_login(synapse, member_name)  # also signed in from Element
    assert status == 200
    assert (await member.get("/gallery")).status == 200

    done = await admin.post("/admin/people/deactivate", {"user_id": member_id}, page="/admin/people")
    assert done.status == 303
    assert "Log in" in await (await member.get("/")).text()  # the portal session is over
    assert (await member.get("/gallery", allow_redirects=False)).status == 303
    assert await _whoami(synapse, str(element["access_token"])) == 401  # so is the Matrix device
    assert (await _matrix_login(synapse, member_name))[0] == 403
    again = await member.log_in(member_name, PASSWORD)
    assert again.status == 400
    people = await (await admin.get("/admin/people")).text()
    assert member_id in people and "deactivated" in people
    assert "deactivate" in await (await admin.get("/admin/audit")).text()


async def test_an_admin_gives_and_takes_the_admin_role_but_not_from_themselves_or_the_settings(
    browsers: Browsers, synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    named = unique("owner")
    portal = await _portal(synapse, ollama, tmp_path, ADMIN_USERS=named)
    try:
        owner, _ = await _signed_up(browsers, portal, "203.0.113.132", named)
        helper, helper_name = await _signed_up(browsers, portal, "203.0.113.133")
        helper_id = f"@{helper_name}:{synapse.server_name}"
        owner_id = f"@{named}:{synapse.server_name}"
        assert (await helper.get("/admin/people")).status == 403
        made = await owner.post("/admin/people/make-admin", {"user_id": helper_id}, page="/admin/people")
        assert made.status == 303, await made.text()
        assert (await helper.get("/admin/people")).status == 200
        # The helper cannot take the role from the admin named in the settings, nor deactivate them.
        for action in ("remove-admin", "deactivate"):
            refused = await helper.post(
                f"/admin/people/{action}", {"user_id": owner_id}, page="/admin/people"
            )
            assert refused.status == 400
        # Nobody changes their own account here.
        myself = await owner.post("/admin/people/deactivate", {"user_id": owner_id}, page="/admin/people")
        assert myself.status == 400
        taken = await owner.post("/admin/people/remove-admin", {"user_id": helper_id}, page="/admin/people")
        assert taken.status == 303
        assert (await helper.get("/admin/people")).status == 403
        audit = await (await owner.get("/admin/audit")).text()
        assert "make admin" in audit and "remove admin" in audit
        for server_account in (synapse.provisioned.bot_user_id, f"@admin:{synapse.server_name}"):
            refused = await owner.post(
                "/admin/people/deactivate", {"user_id": server_account}, page="/admin/people"
            )
            assert refused.status == 400
    finally:
        await portal.close()


async def _joined(synapse: SynapseServer, user_id: str) -> set[str]:
    url = f"{synapse.url}/_synapse/admin/v1/users/{quote(user_id)}/joined_rooms"
    auth = {"Authorization": f"Bearer {synapse.provisioned.admin_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=auth) as response:
        return set((await response.json())["joined_rooms"])


async def test_with_approval_a_new_account_waits_until_an_admin_approves_it(
    browsers: Browsers, approval_synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    synapse = approval_synapse
    portal = await _portal(synapse, ollama, tmp_path, ADMIN_USERS="")
    try:
        # The very first account has nobody to approve it: it is approved, and the admin.
        admin, _ = await _signed_up(browsers, portal, "203.0.113.134")
        assert (await admin.get("/admin/people")).status == 200

        newcomer = await browsers(portal, "203.0.113.135")
        name = unique("waiting")
        user_id = f"@{name}:{synapse.server_name}"
        waiting = await newcomer.sign_up(name, PASSWORD)
        assert waiting.status == 200 and "waiting for approval" in await waiting.text()
        login = await newcomer.log_in(name, PASSWORD)
        assert login.status == 400 and account_views.WAITING in await login.text()
        status, body = await _matrix_login(synapse, name)  # Element is told the same
        assert status == 403 and "USER_AWAITING_APPROVAL" in str(body.get("errcode"))
        assert "waiting for approval" in await (await admin.get("/admin/people")).text()

        approved = await admin.post("/admin/people/approve", {"user_id": user_id}, page="/admin/people")
        assert approved.status == 303
        assert (await newcomer.log_in(name, PASSWORD)).status == 303
        assert set(synapse.provisioned.room_ids.values()) <= await _joined(synapse, user_id)
        assert "approve" in await (await admin.get("/admin/audit")).text()
    finally:
        await portal.close()


async def test_two_first_sign_ups_at_once_make_one_admin(
    browsers: Browsers, first_admin_portal: TestClient
) -> None:
    first, second = await asyncio.gather(
        _signed_up(browsers, first_admin_portal, "203.0.113.136"),
        _signed_up(browsers, first_admin_portal, "203.0.113.137"),
    )
    granted = await first_admin_portal.server.app[ADMIN_ROLES].granted()
    assert len(granted) == 1
    statuses = sorted(
        [(await first[0].get("/admin/people")).status, (await second[0].get("/admin/people")).status]
    )
    assert statuses == [200, 403]

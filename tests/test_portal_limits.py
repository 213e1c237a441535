"""The portal against clients that stall or outlive their login, through the real Synapse:
a form or upload that stops arriving is answered and leaves nothing, a download nobody
reads is cut off and gives its slot back, what a crash left in the upload folder is
removed at start, and a login the homeserver no longer honours sends the person back to
the login page (a JSON 401 for the chat page's script)."""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import UploadResponse

from portal import security
from portal.app import MEDIA_DOWNLOADS_PER_USER, create_app
from portal.gallery import views as gallery_views
from tests.conftest import UserFactory
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

QUIET_S = 0.5  # how long the portal waits for a quiet client in these tests


@pytest.fixture
async def portal(
    synapse: SynapseServer, ollama: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TestClient]:
    monkeypatch.setattr(gallery_views, "READ_TIMEOUT_S", QUIET_S)
    monkeypatch.setattr(gallery_views, "WRITE_TIMEOUT_S", QUIET_S)
    monkeypatch.setattr(security, "FORM_READ_TIMEOUT_S", QUIET_S)
    settings = portal_settings(synapse, ollama.base_url, PORTAL_SIGNUP_RATE="1000/hour")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def _member(portal: TestClient, address: str) -> tuple[Browser, str]:
    browser = Browser(portal, address)
    username = unique("limits")
    assert (await browser.sign_up(username)).status == 303
    return browser, username


def _cookie(portal: TestClient) -> str:
    return "; ".join(f"{c.key}={c.value}" for c in portal.session.cookie_jar)


async def _answer_to_stalled_request(portal: TestClient, head: str, body: bytes) -> bytes:
    """Send `head` and only part of the body it declares; whatever the portal answers
    within 10 s (it must answer: the sender went quiet, it did not go away)."""
    reader, writer = await asyncio.open_connection(portal.host, portal.port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        rest = await asyncio.wait_for(reader.read(64 * 1024), 10)
        return status + rest
    finally:
        writer.close()


async def _upload_head(browser: Browser, portal: TestClient, boundary: str, length: int) -> str:
    token = await browser.csrf("/gallery")
    return (
        f"POST /gallery/upload HTTP/1.1\r\nHost: {portal.host}:{portal.port}\r\nCookie: {_cookie(portal)}\r\n"
        f"X-CSRF-Token: {token}\r\nOrigin: {browser.origin}\r\nX-Forwarded-For: {browser.address}\r\n"
        f"Accept: application/json\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n"
    )


async def test_an_upload_that_stops_arriving_is_answered_and_leaves_no_file(portal: TestClient) -> None:
    browser, _ = await _member(portal, "203.0.113.90")
    folder = portal.server.app[gallery_views.UPLOADS_FOLDER]
    before = set(folder.iterdir())
    file_head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n'
        b"Content-Type: video/mp4\r\n\r\n"
    )
    partial = file_head + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100_000
    answer = await _answer_to_stalled_request(
        portal, await _upload_head(browser, portal, "XyZ", 3_000_000), partial
    )
    assert b" 400 " in answer.split(b"\r\n")[0], answer[:200]
    assert gallery_views.STALLED.encode() in answer
    assert set(folder.iterdir()) == before, "the stalled upload left its file behind"
    assert (await browser.get("/gallery")).status == 200  # and the portal goes on


async def test_an_upload_whose_first_file_never_starts_is_answered(portal: TestClient) -> None:
    browser, _ = await _member(portal, "203.0.113.91")
    answer = await _answer_to_stalled_request(
        portal, await _upload_head(browser, portal, "XyZ", 500_000), b""
    )
    assert b" 400 " in answer.split(b"\r\n")[0], answer[:200]
    assert gallery_views.STALLED.encode() in answer


async def test_a_form_that_stops_arriving_is_refused_plainly(portal: TestClient) -> None:
    browser, _ = await _member(portal, "203.0.113.92")
    head = (
        f"POST /login HTTP/1.1\r\nHost: {portal.host}:{portal.port}\r\nOrigin: {browser.origin}\r\n"
        f"X-Forwarded-For: {browser.address}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: 500\r\n\r\n"
    )
    answer = await _answer_to_stalled_request(portal, head, b"username=someone&pass")
    assert b" 408 " in answer.split(b"\r\n")[0], answer[:200]
    assert b"The form stopped arriving" in answer


async def test_a_download_nobody_reads_is_cut_off_and_gives_its_slot_back(
    portal: TestClient, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, "203.0.113.93")
    size = 24 * 1024 * 1024  # far more than the sockets' buffers hold
    uploaded, _ = await (await make_user("bigfile")).client.upload(
        io.BytesIO(os.urandom(size)), content_type="video/mp4", filesize=size
    )
    assert isinstance(uploaded, UploadResponse)
    server, media_id = uploaded.content_uri[len("mxc://") :].split("/")
    request = (
        f"GET /media/{server}/{media_id} HTTP/1.1\r\nHost: {portal.host}:{portal.port}\r\n"
        f"Cookie: {_cookie(portal)}\r\nX-Forwarded-For: {browser.address}\r\n\r\n"
    ).encode()

    async def open_download() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        """A download whose client then reads nothing; with the status line it got."""
        reader, writer = await asyncio.open_connection(portal.host, portal.port)
        writer.write(request)
        await writer.drain()
        return reader, writer, await asyncio.wait_for(reader.readline(), 10)

    stalled = [await open_download() for _ in range(MEDIA_DOWNLOADS_PER_USER)]
    try:
        assert all(b" 200 " in status for _, _, status in stalled)  # every slot taken

        # Every slot comes back: as many new downloads at once all start.
        deadline = time.monotonic() + 20
        while True:
            probes = [await open_download() for _ in range(MEDIA_DOWNLOADS_PER_USER)]
            for _, writer, _ in probes:
                writer.close()
            if all(b" 200 " in status for _, _, status in probes):
                break
            assert time.monotonic() < deadline, "the stalled downloads still hold their slots"
            await asyncio.sleep(0.2)
        # The stalled ones were ended before their end: what they hold is short of the file.
        for reader, _, _ in stalled:
            received = len(await asyncio.wait_for(reader.read(), 30))
            assert received < size
    finally:
        for _, writer, _ in stalled:
            writer.close()


async def test_leftovers_of_a_crash_are_removed_when_the_portal_starts(
    synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    settings = portal_settings(synapse, ollama.base_url)
    folder = settings.data_dir / "portal" / "uploads-tmp"
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = [folder / "upload-crashed", folder / "upload-crashed.full", folder / "upload-crashed.thumb"]
    for path in leftovers:
        path.write_bytes(b"\x00" * 1024)
        os.utime(path, (time.time() - 60, time.time() - 60))
    async with TestClient(TestServer(create_app(settings))) as client:
        assert (await client.get("/healthz")).status == 200
        assert not [path for path in leftovers if path.exists()]


async def _log_out_everywhere(synapse: SynapseServer, username: str) -> None:
    """The person signs out of every device from another client (Element's "sign out all")."""
    login = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": username},
        "password": "a long passphrase 42",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{synapse.url}/_matrix/client/v3/login", json=login) as response:
            assert response.status == 200, await response.text()
            token = (await response.json())["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        async with http.post(
            f"{synapse.url}/_matrix/client/v3/logout/all", json={}, headers=auth
        ) as response:
            assert response.status == 200


async def test_a_login_the_homeserver_ended_goes_back_to_the_login_page(
    portal: TestClient, synapse: SynapseServer
) -> None:
    browser, username = await _member(portal, "203.0.113.94")
    assert (await browser.get("/gallery")).status == 200
    await _log_out_everywhere(synapse, username)
    page = await browser.get("/gallery", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login?expired=1")
    login_page = await browser.get(page.headers["Location"])
    assert "Your session ended" in await login_page.text()
    # The portal's session is over too, so the chat page's script gets a JSON 401.
    api = await browser.get("/chat/api/directory")
    assert api.status == 401
    assert "error" in await api.json()

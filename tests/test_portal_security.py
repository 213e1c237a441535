"""The portal against people who push it, through the real Synapse: bodies refused before
they are read, hostile media refused within time and memory while others are served,
uploads that leave nothing behind, ids that cannot walk to other endpoints, sessions that
end (and end their Matrix device), cookies and headers, and one person who cannot hold
every connection."""

from __future__ import annotations

import asyncio
import io
import os
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from nio import UploadResponse
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from appdb.models import PortalLogin
from portal.app import create_app, sweep_sessions
from portal.app_keys import DB_ENGINE, LOGINS
from portal.gallery.views import UPLOADS_FOLDER
from tests.conftest import UserFactory
from tests.ollama_double import OllamaDouble, free_port
from tests.portal_client import Browser, SecondBrowser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique
from tests.test_portal_gallery import _upload


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    settings = portal_settings(
        synapse, ollama.base_url, MAX_UPLOAD_MB="4", PORTAL_SIGNUP_RATE="1000/hour", MEDIA_CHECK_TIMEOUT="20"
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def _member(portal: TestClient, address: str = "203.0.113.80") -> Browser:
    browser = Browser(portal, address)
    assert (await browser.sign_up(unique("sec"))).status == 303
    return browser


async def _raw_request(client: TestClient, head: bytes, body: bytes, timeout: float = 5) -> bytes:
    """Send `head` and part of a body, never the rest; the answer must come anyway."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(head + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        return status_line
    finally:
        writer.close()


async def test_a_large_body_is_refused_before_it_is_read(portal: TestClient) -> None:
    head = (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 2097152\r\n\r\n"
    )
    status = await _raw_request(portal, head, b"username=a&" + b"x" * 1000)
    assert b" 413 " in status, status  # answered with 1 KB of the announced 2 MiB sent


async def test_a_large_chunked_body_is_refused_at_the_form_limit(portal: TestClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * 32 * 1024

    response = await portal.post(
        "/signup", data=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status in {403, 413}  # never read whole: the token check or the limit stops it


async def test_the_upload_form_works_without_javascript(portal: TestClient) -> None:
    browser = await _member(portal)
    token = await browser.csrf("/gallery")
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "orange").save(out, "PNG")
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)  # the hidden field comes first, as the page has it
    form.add_field("files", out.getvalue(), filename="nojs.png", content_type="image/png")
    response = await portal.post("/gallery/upload", data=form, headers=browser.headers(Origin=browser.origin))
    assert response.status == 200, await response.text()
    assert "Shared in #gallery" in await response.text()
    assert "nojs.png" in await (await browser.get("/gallery")).text()

    forged = aiohttp.FormData()
    forged.add_field("files", out.getvalue(), filename="forged.png", content_type="image/png")
    refused = await portal.post(
        "/gallery/upload", data=forged, headers=browser.headers(Origin=browser.origin)
    )
    assert refused.status == 403


def _png_bomb(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels in a few kilobytes of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])  # grey
    rows = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # only a few rows; the rest is missing
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


async def test_hostile_media_are_refused_within_time_and_memory_and_others_are_served(
    portal: TestClient,
) -> None:
    attacker = await _member(portal, "203.0.113.81")
    bystander = await _member(portal, "203.0.113.82")
    crafted_mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
    tracemalloc.start()  # the portal runs in this process: its own memory stays small
    try:
        started = time.monotonic()
        uploads = asyncio.gather(
            _upload(attacker, [("bomb.png", _png_bomb(30_000, 30_000), "image/png")]),
            _upload(attacker, [("twice.png", _png_bomb(8_000, 7_000), "image/png")]),
            _upload(attacker, [("crafted.mp4", crafted_mp4, "video/mp4")]),
        )
        while not uploads.done():  # meanwhile, someone else is served at once
            page_started = time.monotonic()
            assert (await bystander.get("/models")).status == 200
            assert time.monotonic() - page_started < 2
            await asyncio.sleep(0.05)
        answers = [await r.json() for r in await uploads]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    messages = [answer["results"][0]["message"] for answer in answers]
    assert "megapixels" in messages[0] and "megapixels" in messages[1], messages  # 56 MP: over 40 MP
    assert "not a readable video" in messages[2]
    assert time.monotonic() - started < 20
    assert peak < 30 * 1024 * 1024, f"the portal held {peak / 1e6:.0f} MB"


async def test_an_aborted_upload_leaves_no_file_behind(portal: TestClient) -> None:
    browser = await _member(portal)
    folder = portal.server.app[UPLOADS_FOLDER]
    token = await browser.csrf("/gallery")
    cookie = "; ".join(f"{c.key}={c.value}" for c in portal.session.cookie_jar)
    boundary = "XyZ"
    body_head = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + b"\x00\x00\x00\x18ftypmp42"
        + b"\x00" * 1_000_000
    )
    head = (
        f"POST /gallery/upload HTTP/1.1\r\nHost: {portal.host}:{portal.port}\r\nCookie: {cookie}\r\n"
        f"X-CSRF-Token: {token}\r\nOrigin: {browser.origin}\r\nX-Forwarded-For: {browser.address}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 3000000\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(portal.host, portal.port)
    writer.write(head + body_head)
    await writer.drain()

    async def partial_file_exists() -> bool:
        return any(folder.iterdir())

    deadline = time.monotonic() + 10
    while not await partial_file_exists():
        assert time.monotonic() < deadline, "the upload never started"
        await asyncio.sleep(0.05)
    writer.close()  # the browser goes away mid-upload
    deadline = time.monotonic() + 10
    while any(folder.iterdir()):
        assert time.monotonic() < deadline, f"left behind: {list(folder.iterdir())}"
        await asyncio.sleep(0.05)
    del reader


async def test_uploads_are_capped_per_request_and_per_day(
    synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    settings = portal_settings(synapse, ollama.base_url, MAX_FILES_PER_UPLOAD="2", MAX_UPLOADS_PER_DAY="3")
    async with TestClient(TestServer(create_app(settings))) as client:
        browser = await _member(client)
        png = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(png, "PNG")
        files = [(f"f{i}.png", png.getvalue(), "image/png") for i in range(3)]
        first = await (await _upload(browser, files)).json()
        assert [r["ok"] for r in first["results"]] == ["yes", "yes", ""]
        assert "At most 2 files" in first["results"][2]["message"]
        second = await (await _upload(browser, files[:2])).json()
        assert [r["ok"] for r in second["results"]] == ["yes", ""]
        assert "daily limit" in second["results"][1]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/media/..%2F..%2F..%2Fv3%2Faccount/whoami",
        "/media/localhost/..%2F..%2F..%2Fclient%2Fv3%2Faccount%2Fwhoami",
        "/media/localhost%2F..%2F../abc",
        "/media/local host/abc",
        "/media/localhost/abc%3Fx=1",
    ],
)
async def test_crafted_media_paths_never_reach_another_endpoint(portal: TestClient, path: str) -> None:
    browser = await _member(portal)
    response = await browser.get(path)
    assert response.status == 404
    assert "user_id" not in await response.text()


async def test_a_state_change_never_happens_on_get(portal: TestClient) -> None:
    browser = await _member(portal)
    assert (await browser.get("/chat/ai")).status == 405
    created = await browser.post("/chat/ai", {}, page="/chat")
    assert created.status == 303 and created.headers["Location"].startswith("/chat#room=!")


async def test_error_pages_are_ours(portal: TestClient, synapse: SynapseServer, ollama: OllamaDouble) -> None:
    browser = Browser(portal)
    missing = await browser.get("/no/such/page")
    html = await missing.text()
    assert missing.status == 404 and '<html lang="en">' in html and "Page not found" in html
    assert 'aria-label="Main"' in html  # the site's navigation
    forbidden = await portal.post(
        "/login", data={"username": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert forbidden.status == 403 and '<html lang="en">' in await forbidden.text()
    api = await portal.get("/chat/api/nope")
    assert api.status == 404 and "error" in await api.json()
    logged_out = await portal.get("/chat/api/directory")
    assert logged_out.status == 401 and (await logged_out.json())["error"]

    # The homeserver unreachable for a logged-in person: a 502 page, not a traceback.
    settings = portal_settings(
        synapse,
        ollama.base_url,
        HOMESERVER_URL=f"http://127.0.0.1:{free_port()}",
        PORTAL_SIGNUP_RATE="100/hour",
    )
    async with TestClient(TestServer(create_app(settings))) as broken:
        person = Browser(broken, "203.0.113.84")
        name = unique("broken")
        assert (await person.sign_up(name)).status == 303  # sign-up uses the portal listener
        gallery = await person.get("/gallery")
        assert gallery.status == 502 and "unreachable" in await gallery.text()


async def test_an_unexpected_failure_is_a_500_page_of_ours(
    synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    app = create_app(portal_settings(synapse, ollama.base_url))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/broken")
        html = await response.text()
    assert response.status == 500 and '<html lang="en">' in html and "a bug" not in html


async def test_healthz_is_cached_so_callers_cannot_multiply_outbound_checks(
    synapse: SynapseServer,
) -> None:
    hits = 0

    async def version(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response({"version": "0.12.6"})

    counting = web.Application()
    counting.router.add_get("/api/version", version)
    async with TestServer(counting) as fake_ollama:
        settings = portal_settings(synapse, str(fake_ollama.make_url("")).rstrip("/"))
        async with TestClient(TestServer(create_app(settings))) as client:
            responses = await asyncio.gather(*(client.get("/healthz") for _ in range(50)))
            assert all(r.status == 200 for r in responses)
    assert hits <= 3, f"50 calls made {hits} outbound checks"  # /healthz's one, the banner's


async def test_a_session_ends_when_idle_and_its_matrix_token_is_revoked(
    portal: TestClient, synapse: SynapseServer
) -> None:
    browser = await _member(portal)
    app = portal.server.app
    async with async_sessionmaker(app[DB_ENGINE])() as session:
        row = (await session.execute(select(PortalLogin))).scalars().all()[-1]
    found = await app[LOGINS].find(row.session_id)
    assert found is not None and found.access_token not in row.access_token  # stored encrypted
    token = found.access_token
    assert await sweep_sessions(app, now=datetime.now(UTC) + timedelta(days=8)) >= 1
    async with aiohttp.ClientSession() as session:
        whoami = await session.get(
            f"{synapse.url}/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        assert whoami.status == 401, "the ended session's Matrix token still works"
    assert "Log in" in await (await browser.get("/")).text()


async def test_server_accounts_cannot_log_in_to_the_portal(portal: TestClient) -> None:
    for name in ("admin", "bot"):
        response = await Browser(portal, "203.0.113.85").log_in(name, "whatever it is")
        assert response.status == 400 and "not for the portal" in await response.text()


async def test_cookies_and_headers_follow_https(synapse: SynapseServer, ollama: OllamaDouble) -> None:
    settings = portal_settings(synapse, ollama.base_url, PUBLIC_BASEURL="https://chat.example")
    async with TestClient(TestServer(create_app(settings))) as client:
        browser = Browser(client, "203.0.113.86")
        response = await browser.client.get(
            "/login", headers=browser.headers(**{"X-Forwarded-Proto": "https"})
        )
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = response.headers.get("Set-Cookie", "")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        plain = await browser.client.get("/login", headers=browser.headers())
        assert "Strict-Transport-Security" not in plain.headers  # not over https: no HSTS


async def test_a_logged_in_persons_pages_are_never_cached(portal: TestClient) -> None:
    browser = await _member(portal)
    for path in ("/", "/models", "/gallery", "/conversations"):
        assert (await browser.get(path)).headers["Cache-Control"] == "no-store", path
    async with SecondBrowser(portal, "203.0.113.89") as visitor:
        assert "no-store" not in (await visitor.get("/login")).headers.get("Cache-Control", "")


async def test_one_person_cannot_hold_every_connection(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    hog = await _member(portal, "203.0.113.87")
    other = await _member(portal, "203.0.113.88")
    uploader = await make_user("bigfile")
    uploaded, _ = await uploader.client.upload(
        io.BytesIO(os.urandom(24 * 1024 * 1024)), content_type="video/mp4", filesize=24 * 1024 * 1024
    )
    assert isinstance(uploaded, UploadResponse)
    server, media_id = uploaded.content_uri[len("mxc://") :].split("/")
    cookie = "; ".join(f"{c.key}={c.value}" for c in portal.session.cookie_jar)
    request = (
        f"GET /media/{server}/{media_id} HTTP/1.1\r\nHost: {portal.host}:{portal.port}\r\n"
        f"Cookie: {cookie}\r\nX-Forwarded-For: {hog.address}\r\n\r\n"
    ).encode()
    stalled: list[asyncio.StreamWriter] = []
    statuses: list[bytes] = []
    try:
        for _ in range(30):  # downloads of 24 MB opened and never read
            reader, writer = await asyncio.open_connection(portal.host, portal.port)
            writer.write(request)
            await writer.drain()
            statuses.append(await asyncio.wait_for(reader.readline(), 10))
            stalled.append(writer)
        assert sum(b" 429 " in status for status in statuses) >= 25, statuses
        started = time.monotonic()
        assert (await other.get("/gallery")).status == 200
        assert (await other.get("/chat/api/directory")).status == 200
        assert time.monotonic() - started < 5
    finally:
        for writer in stalled:
            writer.close()

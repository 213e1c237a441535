"""The gallery through the real Synapse: uploads checked by content, EXIF removed from
the served bytes, sharing to #gallery (seen by Matrix clients too), media served safely,
deletion only by the owner, and oversized uploads refused without buffering them."""

from __future__ import annotations

import asyncio
import io
import re
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import av
import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import UploadResponse
from PIL import Image

from portal.app import create_app
from portal.app_keys import LOGINS
from tests.matrix_user import MatrixUser
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser, SecondBrowser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

ORIENTATION, GPS_IFD = 0x0112, 0x8825
MEDIA_LINK = re.compile(r'href="(/media/[^"?]+)"')


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    settings = portal_settings(synapse, ollama.base_url, MAX_UPLOAD_MB="2")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


def jpeg_with_gps_and_rotation() -> bytes:
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # "rotate 90° clockwise to display"
    exif[GPS_IFD] = {1: "N", 2: (51.0, 28.0, 38.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def _upload(browser: Browser, files: list[tuple[str, bytes, str]]) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    for name, data, content_type in files:
        form.add_field("files", data, filename=name, content_type=content_type)
    token = await browser.csrf("/gallery")
    return await browser.client.post(
        "/gallery/upload",
        data=form,
        headers=browser.headers(
            Origin=browser.origin, **{"X-CSRF-Token": token, "Accept": "application/json"}
        ),
    )


async def _full_media(browser: Browser, title: str) -> bytes:
    """The full file behind the gallery tile titled `title`, as the viewer links it."""
    gallery = await (await browser.get("/gallery")).text()
    views = re.findall(r'href="(/gallery/view/[^"]+)"', gallery)
    for view in views:
        page = await (await browser.get(view)).text()
        if title in page:
            link = MEDIA_LINK.search(page)
            assert link
            return await (await browser.get(link.group(1))).read()
    raise AssertionError(f"{title} is not in the gallery")


async def _member(portal: TestClient, address: str = "203.0.113.70") -> Browser:
    browser = Browser(portal, address)
    assert (await browser.sign_up(unique("artist"))).status == 303
    return browser


async def test_photo_is_shared_with_gps_stripped_and_orientation_kept(portal: TestClient) -> None:
    browser = await _member(portal)
    original = jpeg_with_gps_and_rotation()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the original has GPS

    response = await _upload(browser, [("holiday.jpg", original, "image/jpeg")])
    assert response.status == 200, await response.text()

    gallery = await (await browser.get("/gallery")).text()
    assert "holiday.jpg" in gallery and "Delete" in gallery
    view = re.search(r'href="(/gallery/view/[^"]+)"', gallery)
    assert view
    viewer = await (await browser.get(view.group(1))).text()
    assert "shared by @" in viewer and "holiday.jpg" in viewer
    full = MEDIA_LINK.search(viewer)
    assert full
    served = await browser.get(full.group(1))
    assert served.status == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"] == "inline"
    image = Image.open(io.BytesIO(await served.read()))
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD) and ORIENTATION not in exif
    assert image.size == (20, 40)  # the rotation is now in the pixels


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("cat.png", b"<html><script>alert(1)</script></html>", "Only images"),
        ("movie.mp4", b"MZ\x90\x00 this is a renamed program", "Only images"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "not a readable image"),
        ("empty.png", b"", "empty"),
    ],
)
async def test_files_that_are_not_what_they_claim_are_refused(
    portal: TestClient, name: str, data: bytes, reason: str
) -> None:
    browser = await _member(portal)
    response = await _upload(browser, [(name, data, "image/png")])
    assert response.status == 400
    (result,) = (await response.json())["results"]
    assert result["ok"] == "" and reason in result["message"]


async def test_a_polyglot_image_loses_its_payload(portal: TestClient) -> None:
    browser = await _member(portal)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    polyglot = out.getvalue() + b"<script>alert('owned')</script>"
    assert (await _upload(browser, [("poly.png", polyglot, "image/png")])).status == 200
    served = await _full_media(browser, "poly.png")
    assert b"<script>" not in served


def real_mp4() -> bytes:
    """A tiny real MP4 (five 64x48 frames), encoded with PyAV."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for shade in range(5):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (shade * 50, 80, 160)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


async def test_a_real_video_is_posted_with_its_size_and_a_thumbnail(
    portal: TestClient, synapse: SynapseServer
) -> None:
    browser = await _member(portal)
    assert (await _upload(browser, [("tiny.mp4", real_mp4(), "video/mp4")])).status == 200
    watcher = await MatrixUser.register(synapse, "watcher")
    try:
        room_id = await watcher.join(f"#gallery:{synapse.server_name}")
        response = await watcher.client.room_messages(
            room_id, start=watcher.client.next_batch or "", limit=20
        )
        posted = next(
            e.source for e in response.chunk if e.source.get("content", {}).get("body") == "tiny.mp4"
        )
    finally:
        await watcher.close()
    info = posted["content"]["info"]
    assert posted["content"]["msgtype"] == "m.video"
    assert (info["mimetype"], info["w"], info["h"]) == ("video/mp4", 64, 48)
    assert info["thumbnail_url"].startswith("mxc://") and info["thumbnail_info"]["mimetype"] == "image/jpeg"
    gallery = await (await browser.get("/gallery")).text()
    assert 'alt="tiny.mp4 (video)"' in gallery


async def test_several_files_at_once_including_a_video(portal: TestClient, synapse: SynapseServer) -> None:
    browser = await _member(portal)
    mp4 = real_mp4()
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(out, "PNG")
    response = await _upload(
        browser, [("clip.mp4", mp4, "video/mp4"), ("square.png", out.getvalue(), "image/png")]
    )
    assert response.status == 200
    assert [r["ok"] for r in (await response.json())["results"]] == ["yes", "yes"]
    gallery = await (await browser.get("/gallery")).text()
    assert 'alt="clip.mp4 (video)"' in gallery and "square.png" in gallery


async def test_oversized_upload_is_refused_without_buffering_it(portal: TestClient, tmp_path: Path) -> None:
    browser = await _member(portal)
    huge = tmp_path / "huge.mp4"
    with open(huge, "wb") as out:
        out.write(b"\x00\x00\x00\x18ftypmp42")
        out.write(b"\x00" * (20 * 1024 * 1024))
    token = await browser.csrf("/gallery")
    cookie = "; ".join(f"{c.key}={c.value}" for c in portal.session.cookie_jar)
    tracemalloc.start()  # the portal runs in this process; curl sends from another one
    try:
        curl = await asyncio.create_subprocess_exec(
            "curl",
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"X-CSRF-Token: {token}",
            "-H",
            f"Origin: {browser.origin}",
            "-H",
            "Accept: application/json",
            "-H",
            f"X-Forwarded-For: {browser.address}",
            "-F",
            f"files=@{huge};type=video/mp4",
            str(portal.make_url("/gallery/upload")),
            stdout=asyncio.subprocess.PIPE,
        )
        output, _ = await curl.communicate()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body, _, status = output.decode().rpartition("\n")
    assert status == "400", output
    assert "larger than the 2 MB limit" in body
    assert peak < 4 * 1024 * 1024, f"the portal held {peak / 1e6:.1f} MB of a 20 MB upload"
    assert "huge" not in await (await browser.get("/gallery")).text()


async def test_only_the_owner_can_delete_a_post(portal: TestClient) -> None:
    owner = await _member(portal)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "yellow").save(out, "PNG")
    assert (await _upload(owner, [("mine.png", out.getvalue(), "image/png")])).status == 200
    gallery = await (await owner.get("/gallery")).text()
    event_id = re.search(r'action="/gallery/([^"]+)/delete"', gallery).group(1)  # type: ignore[union-attr]

    async with SecondBrowser(portal, "203.0.113.71") as other:
        assert (await other.sign_up(unique("other"))).status == 303
        assert "mine.png" in await (await other.get("/gallery")).text()
        refused = await other.post(f"/gallery/{event_id}/delete", {}, page="/gallery")
        assert refused.status == 403

    assert "mine.png" in await (await owner.get("/gallery")).text()
    assert (await owner.post(f"/gallery/{event_id}/delete", {}, page="/gallery")).status == 303
    assert "mine.png" not in await (await owner.get("/gallery")).text()


async def test_media_posted_from_a_matrix_client_appears(portal: TestClient, synapse: SynapseServer) -> None:
    browser = await _member(portal)
    element_user = await MatrixUser.register(synapse, "element")
    try:
        room_id = await element_user.join(f"#gallery:{synapse.server_name}")
        out = io.BytesIO()
        Image.new("RGB", (12, 12), "purple").save(out, "PNG")
        uploaded, _ = await element_user.client.upload(
            io.BytesIO(out.getvalue()),
            content_type="image/png",
            filename="from-element.png",
            filesize=len(out.getvalue()),
        )
        assert isinstance(uploaded, UploadResponse)
        await element_user.client.room_send(
            room_id,
            "m.room.message",
            {
                "msgtype": "m.image",
                "body": "from-element.png",
                "url": uploaded.content_uri,
                "info": {"mimetype": "image/png"},
            },
        )
    finally:
        await element_user.close()
    gallery = await (await browser.get("/gallery")).text()
    assert "from-element.png" in gallery
    assert element_user.user_id in gallery
    thumb = re.search(r'src="(/media/[^"]+\?thumb=1)"', gallery)
    assert thumb and (await browser.get(thumb.group(1))).status == 200


async def test_someone_who_left_the_gallery_is_offered_to_join_it_again(
    portal: TestClient, synapse: SynapseServer
) -> None:
    browser = Browser(portal, "203.0.113.72")
    name = unique("leaver")
    assert (await browser.sign_up(name)).status == 303
    assert "Share images or videos" in await (await browser.get("/gallery")).text()
    (session,) = await portal.server.app[LOGINS].sessions_of(f"@{name}:{synapse.server_name}")
    alias = quote(f"#gallery:{synapse.server_name}", safe="")
    auth = {"Authorization": f"Bearer {session.access_token}"}
    async with aiohttp.ClientSession() as http:  # leaving in another client, as in Element
        async with http.get(f"{synapse.url}/_matrix/client/v3/directory/room/{alias}") as found:
            room_id = (await found.json())["room_id"]
        async with http.post(
            f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/leave", json={}, headers=auth
        ) as left:
            assert left.status == 200
    offer = await browser.get("/gallery")
    assert offer.status == 200 and "Join the gallery to see and share photos" in await offer.text()
    assert (await browser.post("/gallery/join", {}, page="/gallery")).status == 303
    assert "Share images or videos" in await (await browser.get("/gallery")).text()

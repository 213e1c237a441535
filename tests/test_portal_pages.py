"""Pages that work for every person, through the real Synapse: the gallery pages through
any number of posts mixed with other events, a missing room is said plainly (sign-up
still works), every error is one of our pages, and logging in never leaves the site."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from nio import RoomSendResponse, UploadResponse
from PIL import Image

from portal.app import create_app
from portal.errors import SENTENCES
from tests.conftest import UserFactory
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

TILE_TITLE = re.compile(r"<figcaption>\s*(page-post-\d+)")


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    settings = portal_settings(synapse, ollama.base_url, PORTAL_SIGNUP_RATE="1000/hour")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


async def test_the_gallery_pages_through_every_post(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    poster = await make_user("poster")
    room_id = await poster.join(f"#gallery:{synapse.server_name}")
    png = io.BytesIO()
    Image.new("RGB", (4, 4), "navy").save(png, "PNG")
    uploaded, _ = await poster.client.upload(
        io.BytesIO(png.getvalue()), content_type="image/png", filesize=len(png.getvalue())
    )
    assert isinstance(uploaded, UploadResponse)
    marker = unique("run")
    for index in range(70):  # more than two pages, with other events between the posts
        content = {"msgtype": "m.image", "body": f"page-post-{index}", "url": uploaded.content_uri}
        content["info"] = {"mimetype": "image/png"}
        assert isinstance(await poster.client.room_send(room_id, "m.room.message", content), RoomSendResponse)
        if index % 4 == 0:
            await poster.send(room_id, f"a comment {marker} {index}")
        if index % 9 == 0:
            await poster.client.room_send(
                room_id,
                "m.reaction",
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}},
            )
    browser = Browser(portal, "203.0.113.60")
    assert (await browser.sign_up(unique("pager"))).status == 303
    seen: Counter[str] = Counter()
    path: str | None = "/gallery"
    pages = 0
    while path and pages < 20:
        html = await (await browser.get(path)).text()
        seen.update(title for title in TILE_TITLE.findall(html))
        older = re.search(r'href="(/gallery\?from=[^"]+)"', html)
        path = older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    ours = {title: count for title, count in seen.items() if title.startswith("page-post-")}
    assert len(ours) >= 70 and all(count == 1 for count in ours.values()), (len(ours), pages)
    assert pages >= 3


async def test_a_missing_room_is_said_plainly_and_sign_up_still_works(
    portal: TestClient, synapse: SynapseServer
) -> None:
    alias = quote(f"#gallery:{synapse.server_name}", safe="")
    url = f"{synapse.url}/_matrix/client/v3/directory/room/{alias}"
    auth = {"Authorization": f"Bearer {synapse.provisioned.admin_token}"}
    async with aiohttp.ClientSession() as http:
        assert (await http.delete(url, headers=auth)).status == 200
        try:
            browser = Browser(portal, "203.0.113.61")
            signed_up = await browser.sign_up(unique("nogallery"))
            assert signed_up.status == 303  # the account exists, though one room is missing
            home = await (await browser.get("/")).text()
            assert "could not be added to #gallery" in home
            gallery = await browser.get("/gallery")
            assert gallery.status == 404 and "has no gallery room" in await gallery.text()
        finally:
            body = {"room_id": synapse.provisioned.room_ids["gallery"]}
            assert (await http.put(url, json=body, headers=auth)).status == 200


ERRORS: dict[int, Callable[[], Exception]] = {
    400: web.HTTPBadRequest,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    413: lambda: web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2),
    429: web.HTTPTooManyRequests,
    500: lambda: RuntimeError("internal detail"),
    502: web.HTTPBadGateway,
}


@pytest.mark.parametrize("status", ERRORS)
async def test_every_error_is_a_page_of_ours_or_json_for_the_chat(
    synapse: SynapseServer, ollama: OllamaDouble, status: int
) -> None:
    app = create_app(portal_settings(synapse, ollama.base_url))

    async def fails(request: web.Request) -> web.Response:
        raise ERRORS[status]()

    app.router.add_get("/fails", fails)
    app.router.add_get("/chat/api/fails", fails)
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/fails")
        html = await page.text()
        assert page.status == status and page.content_type == "text/html"
        assert (
            '<html lang="en">' in html and 'aria-label="Main"' in html and 'href="/static/style.css"' in html
        )
        assert SENTENCES[status] in html and "internal detail" not in html
        api = await client.get("/chat/api/fails")
        assert api.status == status and (await api.json())["error"] == SENTENCES[status]


@pytest.mark.parametrize(
    "next_url", ["/\t/evil.example/", "//evil.example", "/\\evil.example", "https://evil.example"]
)
async def test_logging_in_never_leaves_the_site(portal: TestClient, next_url: str) -> None:
    browser = Browser(portal, "203.0.113.62")
    name = unique("redirect")
    assert (await browser.sign_up(name)).status == 303
    await browser.post("/logout", {})
    login_page = await (await browser.get(f"/login?next={quote(next_url)}")).text()
    assert "evil.example" not in login_page
    response = await browser.post(
        "/login", {"username": name, "password": "a long passphrase 42", "next": next_url}
    )
    assert response.status == 303 and response.headers["Location"] == "/"


async def test_the_home_page_describes_what_the_assistant_does_in_a_room(portal: TestClient) -> None:
    home = await (await portal.get("/")).text()
    for command in (
        "!summary",
        "!docs",
        "!use #room",
        "!persona",
        "!remember",
        "!notes",
        "!forget",
        "🔁",
        "⏩",
        "👍",
        "remind us friday",
        "!timezone",
        "!reminders",
        "!cancel",
        "Markdown or JSON",
    ):
        assert command.replace("<", "&lt;") in home, command

"""The Room knowledge page through the real Synapse and a real database: the person's own
rooms and their files in plain words (never another room's), uploads posted as `m.file`
messages as the person (and every kind of refusal, with nothing posted), and deletion by
the uploader or a room moderator only (the message redacted, the file forgotten)."""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import RoomCreateResponse

from appdb.knowledge import KnowledgeStore, NewChunk, PostedFile
from appdb.models import KNOWLEDGE_FAILED
from portal.app import create_app
from portal.app_keys import KNOWLEDGE, SETTINGS
from portal.knowledge import strings
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser, SecondBrowser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

MATRIX_PASSWORD = "correct horse battery"  # what tests.matrix_user registers accounts with
_addresses = itertools.count(1)


async def stand_in_bot(synapse: SynapseServer) -> str:
    """An account the portal takes for the assistant, which never runs: these tests play
    the bot's part themselves (recording posted files), so a real bot running for other
    tests of the session never joins these rooms and changes their files meanwhile."""
    account = await MatrixUser.register(synapse, "standinbot")
    await account.close()
    return account.user_id[1:].split(":")[0]


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    bot = await stand_in_bot(synapse)
    settings = portal_settings(synapse, ollama.base_url, KNOWLEDGE_MAX_MB="1", BOT_USERNAME=bot)
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


@dataclass
class Person:
    matrix: MatrixUser  # their own Matrix client, to set rooms up and read them back
    browser: Browser  # the portal, logged in as them

    @property
    def user_id(self) -> str:
        return self.matrix.user_id


PersonFactory = Callable[[str], Awaitable[Person]]


@pytest.fixture
async def person(portal: TestClient, make_user: UserFactory) -> AsyncIterator[PersonFactory]:
    """People with a Matrix account, each logged in to the portal in a browser of their own."""
    async with contextlib.AsyncExitStack() as browsers:

        async def factory(prefix: str) -> Person:
            matrix = await make_user(prefix)
            address = f"198.51.100.{next(_addresses) % 250 + 1}"
            browser = await browsers.enter_async_context(SecondBrowser(portal, address))
            assert (await browser.log_in(matrix.user_id[1:].split(":")[0], MATRIX_PASSWORD)).status == 303
            return Person(matrix, browser)

        yield factory


def _bot(portal: TestClient) -> str:
    return portal.server.app[SETTINGS].bot_user_id


def _store(portal: TestClient) -> KnowledgeStore:
    return portal.server.app[KNOWLEDGE]


async def _room(
    owner: Person,
    members: Sequence[Person] = (),
    invite: Sequence[str] = (),
    initial_state: Sequence[dict[str, Any]] = (),
    power_levels: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """A room of `owner`'s that `members` have joined; its id and its name."""
    name = unique("Handbook ")
    created = await owner.matrix.client.room_create(
        name=name,
        invite=[*(m.user_id for m in members), *invite],
        initial_state=list(initial_state),
        power_level_override=power_levels,
    )
    assert isinstance(created, RoomCreateResponse), created
    for member in members:
        await member.matrix.join(created.room_id)
    return created.room_id, name


async def _synapse(person: Person, method: str, path: str) -> dict[str, Any]:
    client = person.matrix.client
    headers = {"Authorization": f"Bearer {client.access_token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{client.homeserver}{path}", headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def _files_posted(reader: Person, room_id: str) -> list[dict[str, Any]]:
    """The room's `m.file` messages, newest first, as `reader` reads them from Synapse."""
    page = await _synapse(
        reader, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=100"
    )
    return [
        e for e in page["chunk"] if e["type"] == "m.room.message" and e["content"].get("msgtype") == "m.file"
    ]


async def _event(reader: Person, room_id: str, event_id: str) -> dict[str, Any]:
    return await _synapse(reader, "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/event/{quote(event_id)}")


async def _upload(
    browser: Browser, room_id: str, name: str, data: bytes, with_token: bool = True
) -> aiohttp.ClientResponse:
    """The page's form, as a browser without JavaScript sends it: token, room, file."""
    form = aiohttp.FormData()
    if with_token:
        form.add_field("csrf_token", await browser.csrf("/knowledge"))
    form.add_field("room", room_id)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await browser.client.post(
        "/knowledge/upload", data=form, headers=browser.headers(Origin=browser.origin)
    )


async def _page(person: Person) -> str:
    response = await person.browser.get("/knowledge")
    assert response.status == 200
    return await response.text()


def _record(portal: TestClient, event_id: str, room_id: str, uploader: str, name: str) -> Awaitable[bool]:
    """What the bot does when it sees a file posted: record it, queued."""
    posted = PostedFile(event_id, room_id, uploader, name, "application/pdf", int(time.time() * 1000))
    return _store(portal).add_file(posted)


async def test_the_page_lists_my_rooms_and_their_files_in_plain_words(
    portal: TestClient, person: PersonFactory
) -> None:
    alice, bob = await person("alice"), await person("bob")
    room_id, room_name = await _room(alice, [bob], invite=[_bot(portal)])
    store = _store(portal)
    ids = {label: f"${unique(label)}:test" for label in ("queued", "reading", "ready", "failed")}
    await _record(portal, ids["queued"], room_id, alice.user_id, "queued.pdf")
    await _record(portal, ids["reading"], room_id, bob.user_id, "reading.pdf")
    await store.start_reading(ids["reading"], pages=10)
    await store.append_chunks(ids["reading"], room_id, [], 0, progress=40)
    await _record(portal, ids["ready"], room_id, bob.user_id, "ready.pdf")
    chunks = [NewChunk(f"page {n}", f"text {n}", [1.0, float(n)]) for n in range(5)]
    await store.add_chunks(ids["ready"], room_id, chunks, pages=3)
    await _record(portal, ids["failed"], room_id, alice.user_id, "broken.pdf")
    await store.set_state(ids["failed"], KNOWLEDGE_FAILED, "broken.pdf has no text I can read.")

    page = await _page(alice)
    assert 'href="/knowledge"' in page  # in the site's navigation
    assert f">{room_name}</h3>" in page
    rows = re.findall(r'<td class="file-name">([^<]+)</td>\s*<td class="file-state[^"]*">([^<]+)</td>', page)
    assert rows == [
        ("queued.pdf", "Waiting to be read"),
        ("reading.pdf", "Being read: 40% done"),
        ("ready.pdf", "Ready: 3 pages, 5 passages"),
        ("broken.pdf", "Could not be read: broken.pdf has no text I can read."),
    ]
    assert bob.user_id in page and "<td>you</td>" in page
    assert "No room of yours has files yet" not in page
    assert f'<option value="{room_id}">{room_name}</option>' in page  # a room to upload to


async def test_another_persons_room_and_its_files_never_appear(
    portal: TestClient, person: PersonFactory
) -> None:
    alice, carol = await person("alice"), await person("carol")
    theirs, their_name = await _room(carol, invite=[_bot(portal)])
    secret = await carol.matrix.send(theirs, "the plan")
    await _record(portal, secret, theirs, carol.user_id, "secret-plan.pdf")

    page = await _page(alice)
    assert "secret-plan.pdf" not in page and their_name not in page and theirs not in page
    assert "No room of yours has files yet" in page  # the empty state, with how files get here
    assert "post a PDF, .txt or .md file in a room the assistant is in" in page

    refused = await alice.browser.post(f"/knowledge/files/{quote(secret)}/delete", {}, page="/knowledge")
    assert refused.status == 404 and strings.NO_SUCH_FILE in await refused.text()
    assert await _store(portal).file(secret) is not None
    assert (await _event(carol, theirs, secret))["content"]["body"] == "the plan"  # not redacted

    crafted = await _upload(alice.browser, theirs, "notes.md", b"# mine now")
    assert crafted.status == 403 and strings.NOT_YOUR_ROOM in await crafted.text()
    assert await _files_posted(carol, theirs) == []


async def test_an_upload_posts_an_m_file_message_as_the_person(
    portal: TestClient, person: PersonFactory
) -> None:
    alice, bob = await person("alice"), await person("bob")
    room_id, room_name = await _room(bob, [alice], invite=[_bot(portal)])
    text = "# Opening hours\n\nMonday to Friday, 9 to 5. Grüße!\n".encode()

    response = await _upload(alice.browser, room_id, "hours.md", text)
    assert response.status == 200 and response.url.path == "/knowledge", await response.text()
    assert strings.POSTED.format(name="hours.md", room=room_name) in await response.text()
    assert f'<option value="{room_id}" selected>' in await response.text()  # the room stays chosen
    assert strings.POSTED.format(name="hours.md", room=room_name) not in await _page(alice)  # said once

    (posted,) = await _files_posted(bob, room_id)  # read back as another member
    content = posted["content"]
    assert posted["sender"] == alice.user_id
    assert (content["body"], content["filename"]) == ("hours.md", "hours.md")
    assert content["info"] == {"mimetype": "text/markdown", "size": len(text)}
    server, media_id = content["url"].removeprefix("mxc://").split("/")
    client = bob.matrix.client
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{client.homeserver}/_matrix/client/v1/media/download/{server}/{media_id}",
            headers={"Authorization": f"Bearer {client.access_token}"},
        ) as download,
    ):
        assert await download.read() == text


PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
ONE_MB = 1024 * 1024


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("report.docx", b"PK\x03\x04 a word file", 400, "Only PDF (.pdf), plain text (.txt) and Markdown"),
        ("program.pdf", b"MZ\x90\x00 a renamed program" * 100, 400, "program.pdf is not a PDF"),
        ("latin.txt", "café".encode("latin-1"), 400, "latin.txt is not plain text"),
        ("empty.md", b"", 400, "empty.md is empty"),
        ("huge.txt", b"a" * (ONE_MB + 1), 413, "The file is larger than the 1 MB limit."),
    ],
)
async def test_a_file_that_is_not_taken_is_refused_and_nothing_is_posted(
    portal: TestClient, person: PersonFactory, name: str, data: bytes, status: int, message: str
) -> None:
    alice = await person("alice")
    room_id, _ = await _room(alice, invite=[_bot(portal)])
    refused = await _upload(alice.browser, room_id, name, data)
    assert refused.status == status
    assert message in await refused.text()
    assert (await _upload(alice.browser, room_id, "fine.pdf", PDF)).status == 200  # the same room takes a PDF
    assert [e["content"]["body"] for e in await _files_posted(alice, room_id)] == ["fine.pdf"]


async def test_only_a_joined_unencrypted_room_with_the_assistant_can_be_chosen(
    portal: TestClient, person: PersonFactory
) -> None:
    alice, carol = await person("alice"), await person("carol")
    bot = _bot(portal)
    not_joined, _ = await _room(carol, invite=[bot, alice.user_id])  # invited is not joined
    encryption = {
        "type": "m.room.encryption",
        "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    encrypted, encrypted_name = await _room(alice, invite=[bot], initial_state=[encryption])
    no_bot, no_bot_name = await _room(alice)
    for room, status, message in (
        (not_joined, 403, strings.NOT_YOUR_ROOM),
        ("!madeup:nowhere.example", 403, strings.NOT_YOUR_ROOM),
        ("../../rooms/x", 403, strings.NOT_YOUR_ROOM),
        ("", 400, strings.CHOOSE_A_ROOM),
        (encrypted, 400, strings.ENCRYPTED_ROOM.format(room=encrypted_name)),
        (no_bot, 400, strings.NO_ASSISTANT.format(room=no_bot_name, bot=bot)),
    ):
        refused = await _upload(alice.browser, room, "notes.md", b"# notes")
        assert refused.status == status, room
        assert message.replace("'", "&#39;") in await refused.text(), room
    for room in (not_joined, encrypted, no_bot):
        assert await _files_posted(carol if room == not_joined else alice, room) == []
    page = await _page(alice)
    assert f'value="{encrypted}"' not in page and f'value="{no_bot}"' not in page  # not offered
    assert "End-to-end encrypted: post files here from a Matrix client such as Element." in page


async def test_an_upload_without_the_csrf_token_is_refused(portal: TestClient, person: PersonFactory) -> None:
    alice = await person("alice")
    room_id, _ = await _room(alice, invite=[_bot(portal)])
    refused = await _upload(alice.browser, room_id, "notes.md", b"# notes", with_token=False)
    assert refused.status == 403
    assert await _files_posted(alice, room_id) == []


async def _posted_file(portal: TestClient, uploader: Person, room_id: str, name: str) -> str:
    """`uploader` adds a file through the portal, and the bot records it; its event id."""
    assert (await _upload(uploader.browser, room_id, name, PDF)).status == 200
    event_id = next(
        e["event_id"] for e in await _files_posted(uploader, room_id) if e["content"]["body"] == name
    )
    await _record(portal, event_id, room_id, uploader.user_id, name)
    return event_id


def _delete_button(event_id: str) -> str:
    return f'action="/knowledge/files/{quote(event_id, safe="")}/delete"'


async def test_the_uploader_deletes_their_file(portal: TestClient, person: PersonFactory) -> None:
    owner, alice = await person("owner"), await person("alice")
    room_id, _ = await _room(owner, [alice], invite=[_bot(portal)])
    event_id = await _posted_file(portal, alice, room_id, "mine.pdf")
    assert _delete_button(event_id) in await _page(alice)

    deleted = await alice.browser.post(f"/knowledge/files/{quote(event_id)}/delete", {}, page="/knowledge")
    assert deleted.status == 303 and deleted.headers["Location"] == "/knowledge"
    assert (await _event(owner, room_id, event_id))["content"] == {}  # redacted, as others see it
    assert await _store(portal).file(event_id) is None
    assert "mine.pdf" not in await _page(alice)


async def test_a_plain_member_cannot_delete_someone_elses_file(
    portal: TestClient, person: PersonFactory
) -> None:
    owner, alice, bob = await person("owner"), await person("alice"), await person("bob")
    room_id, _ = await _room(owner, [alice, bob], invite=[_bot(portal)])
    event_id = await _posted_file(portal, alice, room_id, "alices.pdf")
    page = await _page(bob)
    assert "alices.pdf" in page and _delete_button(event_id) not in page

    refused = await bob.browser.post(f"/knowledge/files/{quote(event_id)}/delete", {}, page="/knowledge")
    assert refused.status == 403 and strings.NOT_YOURS in await refused.text()
    assert (await _event(owner, room_id, event_id))["content"]["body"] == "alices.pdf"
    assert await _store(portal).file(event_id) is not None


async def test_a_room_moderator_deletes_someone_elses_file(portal: TestClient, person: PersonFactory) -> None:
    owner, alice, mod = await person("owner"), await person("alice"), await person("mod")
    levels = {"users": {mod.user_id: 50}}  # redact is 50 by default
    room_id, _ = await _room(owner, [alice, mod], invite=[_bot(portal)], power_levels=levels)
    event_id = await _posted_file(portal, alice, room_id, "moderated.pdf")
    assert _delete_button(event_id) in await _page(owner)  # the room's creator moderates too

    deleted = await mod.browser.post(f"/knowledge/files/{quote(event_id)}/delete", {}, page="/knowledge")
    assert deleted.status == 303
    assert (await _event(alice, room_id, event_id))["content"] == {}
    assert await _store(portal).file(event_id) is None


async def test_a_redaction_the_homeserver_refuses_leaves_the_file(
    portal: TestClient, person: PersonFactory
) -> None:
    """The power levels give the moderator the `redact` level but not the level to send a
    redaction at all: the portal offers the button, Synapse refuses, the file stays."""
    owner, alice, mod = await person("owner"), await person("alice"), await person("mod")
    levels = {
        "users": {mod.user_id: 50},  # the owner, as the creator, ranks above all (version 12)
        "redact": 50,
        "events": {"m.room.redaction": 100},
    }
    room_id, _ = await _room(owner, [alice, mod], invite=[_bot(portal)], power_levels=levels)
    event_id = await _posted_file(portal, alice, room_id, "kept.pdf")
    assert _delete_button(event_id) in await _page(mod)

    refused = await mod.browser.post(f"/knowledge/files/{quote(event_id)}/delete", {}, page="/knowledge")
    assert refused.status == 403 and strings.REDACT_REFUSED in await refused.text()
    assert (await _event(owner, room_id, event_id))["content"]["body"] == "kept.pdf"
    assert await _store(portal).file(event_id) is not None

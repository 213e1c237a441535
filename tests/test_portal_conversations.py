"""My AI conversations, through the real Synapse and the portal's real database: a
conversation downloaded as Markdown and as JSON (only the person's own, as an attachment,
a question that fakes an assistant's turn kept inside the question), and each room's
private part apart from what it shares (its notes and persona, shown to its members only).
Turns and notes are recorded through the same stores the bot writes them with."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import (
    AsyncClient,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomLeaveResponse,
    RoomPutStateResponse,
)

from appdb.conversations import ConversationStore
from appdb.room_notes import RoomNotesStore
from common.room_persona import PERSONA_EVENT_TYPE
from portal.app import create_app
from portal.app_keys import CONVERSATIONS, ROOM_NOTES
from portal.conversations import downloads, strings
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser, SecondBrowser
from tests.synapse_server import SynapseServer
from tests.test_conversation_export import HOSTILE, _as_code, _rendered
from tests.test_portal_accounts import portal_settings, unique

PASSWORD = "a long passphrase 42"
PRIVATE = "Private: your conversation with the assistant in this room"
SHARED = "Shared with everyone in this room"


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    settings = portal_settings(synapse, ollama.base_url, PORTAL_SIGNUP_RATE="1000/hour")
    async with TestClient(TestServer(create_app(settings))) as client:
        yield client


class Person:
    """Someone signed up in the portal, with a Matrix client of their own beside it."""

    def __init__(self, browser: Browser, user_id: str, matrix: AsyncClient) -> None:
        self.browser = browser
        self.user_id = user_id
        self.matrix = matrix

    async def create_room(self, name: str, *invite: str) -> str:
        created = await self.matrix.room_create(name=name, invite=list(invite))
        assert isinstance(created, RoomCreateResponse), created
        return created.room_id

    async def page(self, path: str = "/conversations") -> str:
        response = await self.browser.get(path)
        assert response.status == 200, path
        return await response.text()


@pytest.fixture
async def people(portal: TestClient, synapse: SynapseServer) -> AsyncIterator[list[Person]]:
    made: list[Person] = []
    clients: list[SecondBrowser] = []

    async def person(prefix: str) -> Person:
        second = SecondBrowser(portal, f"203.0.113.{60 + len(made)}")
        clients.append(second)
        browser = await second.__aenter__()
        name = unique(prefix)
        assert (await browser.sign_up(name, PASSWORD)).status == 303
        user_id = f"@{name}:{synapse.server_name}"
        matrix = AsyncClient(synapse.url, user_id)
        assert isinstance(await matrix.login(PASSWORD), LoginResponse)
        made.append(Person(browser, user_id, matrix))
        return made[-1]

    alice, bob = await person("alice"), await person("bob")
    yield [alice, bob, await person("carol")]
    for someone in made:
        await someone.matrix.close()
    for second in clients:
        await second.__aexit__()


def _stores(portal: TestClient) -> tuple[ConversationStore, RoomNotesStore]:
    return portal.server.app[CONVERSATIONS], portal.server.app[ROOM_NOTES]


def _export(room_id: str, kind: str) -> str:
    return f"/conversations/{quote(room_id, safe='')}/export.{kind}"


async def test_markdown_export_holds_my_turns_in_order_with_a_fake_turn_kept_in_the_question(
    portal: TestClient, people: list[Person]
) -> None:
    alice = people[0]
    room_id = await alice.create_room("Book club / plans *2025*")
    conversations, _ = _stores(portal)
    await conversations.append_turn(alice.user_id, room_id, HOSTILE, "4")
    await conversations.append_turn(alice.user_id, room_id, "and 3+3?", "6")

    response = await alice.browser.get(_export(room_id, "md"))

    assert response.status == 200
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="Book-club-plans-2025-{today}.md"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = await response.text()
    assert document.startswith(f"# AI conversation in Book club / plans \\*2025\\*, exported {today}\n")
    blocks = _rendered(document)
    assert [tag for tag, _ in blocks] == ["h1", "p"] + ["h2", "pre"] * 4 + ["hr", "p"]
    turns = [(blocks[i][1].split(" · ")[0], blocks[i + 1][1]) for i in range(2, 10, 2)]
    assert turns == [
        ("You", _as_code(HOSTILE)),
        ("Assistant", "4\n"),
        ("You", "and 3+3?\n"),
        ("Assistant", "6\n"),
    ]
    assert re.fullmatch(r"You · \d{4}-\d\d-\d\d \d\d:\d\d UTC", blocks[2][1])
    assert blocks[-1][1] == "End of the export: 4 messages."


async def test_json_export_is_the_documented_object(portal: TestClient, people: list[Person]) -> None:
    alice = people[0]
    room_id = await alice.create_room("Quiz night")
    conversations, _ = _stores(portal)
    await conversations.append_turn(alice.user_id, room_id, HOSTILE, "4")
    await conversations.append_turn(alice.user_id, room_id, "and 3+3?", "6")

    started = datetime.now(UTC).replace(microsecond=0)
    response = await alice.browser.get(_export(room_id, "json"))

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="Quiz-night-\d{4}-\d\d-\d\d\.json"', response.headers["Content-Disposition"]
    )
    exported = json.loads(await response.text())
    assert set(exported) == {"room_id", "room_name", "exported_at", "messages"}
    assert (exported["room_id"], exported["room_name"]) == (room_id, "Quiz night")
    assert datetime.fromisoformat(exported["exported_at"]) >= started
    assert [(m["role"], m["content"]) for m in exported["messages"]] == [
        ("user", HOSTILE),
        ("assistant", "4"),
        ("user", "and 3+3?"),
        ("assistant", "6"),
    ]
    for message in exported["messages"]:
        assert datetime.fromisoformat(message["time"]).tzinfo is not None


async def test_only_my_own_conversation_can_be_exported(
    portal: TestClient, people: list[Person], synapse: SynapseServer
) -> None:
    alice, bob, _ = people
    room_id = await alice.create_room("Alice's room", bob.user_id)
    assert isinstance(await bob.matrix.join(room_id), JoinResponse)
    conversations, _ = _stores(portal)
    await conversations.append_turn(alice.user_id, room_id, "my secret plan", "noted")
    joined = (await alice.matrix.joined_rooms()).rooms
    elsewhere = [other for other in joined if other != room_id]  # #public…: no conversation there
    assert elsewhere

    for kind in ("md", "json"):
        peek = await bob.browser.get(_export(room_id, kind))  # a member, but not his conversation
        assert peek.status == 404
        body = await peek.text()
        assert "secret plan" not in body and "attachment" not in peek.headers.get("Content-Disposition", "")
        assert strings.NO_CONVERSATION in body
        assert (await alice.browser.get(_export(elsewhere[0], kind))).status == 404  # no conversation there
    for path in (
        "/conversations/not-a-room/export.md",
        f"/conversations/{quote('!nowhere:' + synapse.server_name, safe='')}/export.json",
        _export(room_id, "txt"),
    ):
        assert (await alice.browser.get(path)).status == 404, path
    assert (await alice.browser.get(_export(room_id, "md"))).status == 200

    await conversations.append_turn(bob.user_id, room_id, "bob's own question", "bob's answer")
    for kind in ("md", "json"):
        own = await (await bob.browser.get(_export(room_id, kind))).text()
        assert "bob's own question" in own and "secret plan" not in own and "noted" not in own


async def test_an_export_without_a_session_sends_to_login(portal: TestClient) -> None:
    path = _export(f"!{unique('room')}:localhost", "md")
    response = await portal.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=/conversations/")


def _section(html: str, room_name: str) -> str:
    """The part of the page about one room."""
    start = html.index(f">{room_name}</h2>")
    end = html.find('<section class="conversation-room"', start)
    return html[start : end if end != -1 else len(html)]


async def test_each_room_shows_my_private_conversation_apart_from_its_notes_and_persona(
    portal: TestClient, people: list[Person]
) -> None:
    alice, bob, carol = people
    club = await alice.create_room("Club", bob.user_id)
    assert isinstance(await bob.matrix.join(club), JoinResponse)
    quiet = await alice.create_room("Quiet room")
    persona = {"prompt": "You are the club's patient quizmaster.", "set_by": alice.user_id}
    put = await alice.matrix.room_put_state(club, PERSONA_EVENT_TYPE, persona)  # the creator moderates
    assert isinstance(put, RoomPutStateResponse), put
    conversations, notes = _stores(portal)
    now_ms = int(time.time() * 1000)
    await notes.add(club, alice.user_id, "We meet on fridays at 19:00", now_ms)
    await notes.add(club, bob.user_id, "Dues: <b>12 €</b> a year", now_ms)
    for person, room_id in ((alice, club), (alice, quiet), (bob, club), (carol, club)):  # carol: never in
        await conversations.append_turn(person.user_id, room_id, f"question of {person.user_id}", "answer")

    page = await alice.page()
    mine = _section(page, "Club")
    assert mine.index(PRIVATE) < mine.index(SHARED)
    assert "Only you and the assistant see it." in mine
    assert "This room's assistant persona: <q>You are the club&#39;s patient quizmaster.</q>" in mine
    assert f"Set by {alice.user_id}." in mine
    assert "We meet on fridays at 19:00" in mine and f"added by {alice.user_id} on " in mine
    assert "Dues: &lt;b&gt;12 €&lt;/b&gt; a year" in mine and f"added by {bob.user_id}" in mine
    assert mine.index(SHARED) < mine.index("We meet on fridays")
    assert _export(club, "md") in mine and _export(club, "json") in mine
    assert f"question of {bob.user_id}" not in page, "another person's conversation is never shown"
    other = _section(page, "Quiet room")
    assert "We meet on fridays" not in other and "persona" not in other and "None yet." in other

    assert "We meet on fridays" in await bob.page()
    never_in = await carol.page()  # a conversation recorded for a room she is not in
    assert never_in.count(PRIVATE) == 1 and "Club" not in never_in  # not even its name
    assert "We meet on fridays" not in never_in and "quizmaster" not in never_in
    assert strings.NOT_A_MEMBER in never_in

    assert isinstance(await bob.matrix.room_leave(club), RoomLeaveResponse)
    await notes.add(club, alice.user_id, "Added after Bob left", now_ms)
    after = await bob.page()
    assert PRIVATE in after and strings.NOT_A_MEMBER in after
    assert "We meet on fridays" not in after and "Added after Bob left" not in after
    assert "quizmaster" not in after


async def test_a_long_conversation_is_exported_whole_a_page_at_a_time(
    portal: TestClient, people: list[Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "PAGE_MESSAGES", 3)  # 10 messages: four pages
    alice = people[0]
    room_id = await alice.create_room("Long talk")
    conversations, _ = _stores(portal)
    for i in range(5):
        await conversations.append_turn(alice.user_id, room_id, f"question {i}", f"answer {i}")

    exported = json.loads(await (await alice.browser.get(_export(room_id, "json"))).text())
    assert [m["content"] for m in exported["messages"]] == [
        text for i in range(5) for text in (f"question {i}", f"answer {i}")
    ]
    document = await (await alice.browser.get(_export(room_id, "md"))).text()
    assert document.endswith("End of the export: 10 messages.\n")
    assert [tag for tag, _ in _rendered(document)].count("pre") == 10

"""The portal chat's API and live stream, through the real Synapse: what a browser gets,
what it may send, and what happens when things go wrong."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import create_app
from portal.app_keys import MATRIX
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(portal_settings(synapse, ollama.base_url)))) as client:
        yield client


async def _member(portal: TestClient, synapse: SynapseServer, address: str) -> tuple[Browser, str]:
    browser = Browser(portal, address)
    name = unique("chatter")
    assert (await browser.sign_up(name)).status == 303
    return browser, f"@{name}:{synapse.server_name}"


def _sent_by(sender: str, body: str) -> Any:
    return lambda data: any(
        e.get("sender") == sender and e.get("body") == body
        for events in data["events"].values()
        for e in events
    )


async def _public_room(user: MatrixUser, synapse: SynapseServer) -> str:
    return await user.join(f"#public:{synapse.server_name}")


async def test_the_stream_lists_rooms_then_delivers_messages_live(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, me = await _member(portal, synapse, "203.0.113.60")
    stream = await browser.open_stream()
    first = await stream.wait_for("rooms")
    assert first["me"] == me
    kinds = {room["name"]: room["kind"] for room in first["rooms"]}
    assert kinds.get("Public") == "public"

    other = await make_user("talker")
    room_id = await _public_room(other, synapse)
    await other.send(room_id, "hello from Element")
    data = await stream.wait_for("sync", _sent_by(other.user_id, "hello from Element"))
    assert any(room["id"] == room_id and room["unread"] >= 1 for room in data["rooms"])
    stream.close()


async def test_a_reconnecting_browser_misses_nothing(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.61")
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    position = stream.last_id
    stream.close()

    other = await make_user("talker")
    room_id = await _public_room(other, synapse)
    await other.send(room_id, "said while you were offline")

    again = await browser.open_stream(since=position)
    await again.wait_for("rooms")
    await again.wait_for("sync", _sent_by(other.user_id, "said while you were offline"))
    again.close()

    # A position the homeserver does not know (tampered with, or from a reset server):
    # the page is told to reload what it shows, and the stream goes on from now.
    lost = await browser.open_stream(since="s999999_not_a_position")
    await lost.wait_for("reset")
    await other.send(room_id, "after the reset")
    await lost.wait_for("sync", _sent_by(other.user_id, "after the reset"))
    lost.close()


async def test_a_retried_send_is_stored_once(portal: TestClient, synapse: SynapseServer) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.62")
    page = await (await browser.get("/chat")).text()
    assert 'type="module" src="/static/chat/app.js"' in page
    room_id = await portal.server.app[MATRIX].resolve_alias(
        synapse.provisioned.admin_token, f"#public:{synapse.server_name}"
    )
    body = {"body": f"only once {unique('x')}", "txn": "txn-once-1"}
    path = f"/chat/api/rooms/{quote(room_id)}/send"
    first = await (await browser.post_json(path, body)).json()
    second = await (await browser.post_json(path, body)).json()  # the connection dropped; the page retries
    assert first["event_id"] == second["event_id"]
    history = await (await browser.get(f"/chat/api/rooms/{quote(room_id)}/messages")).json()
    assert [e.get("body") for e in history["events"]].count(body["body"]) == 1


async def test_bad_sends_get_clear_errors(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.63")
    owner = await make_user("owner")
    created = await owner.client.room_create(name="Secret")
    private_room = created.room_id  # type: ignore[union-attr]
    cases = [
        (private_room, {"body": "let me in", "txn": "t1"}, 403, "not allowed"),
        (private_room, {"body": "  ", "txn": "t2"}, 400, "Write something"),
        (private_room, {"body": "x" * 20_001, "txn": "t3"}, 400, "too long"),
        (private_room, {"body": "hi", "txn": "bad txn!"}, 400, "transaction id"),
    ]
    for room_id, body, status, words in cases:
        response = await browser.post_json(f"/chat/api/rooms/{quote(room_id)}/send", body)
        assert response.status == status, body
        assert words in (await response.json())["error"]
    history = await browser.get(f"/chat/api/rooms/{quote(private_room)}/messages")
    assert history.status == 403
    async with aiohttp.ClientSession() as stranger:  # no portal session cookie
        url = lambda path: str(portal.make_url(path))  # noqa: E731
        async with stranger.get(url(f"/chat/api/rooms/{quote(private_room)}/messages")) as anonymous:
            assert anonymous.status == 401 and "Log in" in (await anonymous.json())["error"]
        async with stranger.get(url("/chat/api/stream")) as stream:
            assert stream.status == 401
        async with stranger.get(url("/chat/api/session")) as session:
            assert session.status == 401
        async with stranger.get(url("/chat"), allow_redirects=False) as page:
            assert page.status == 303


async def test_history_pages_back_oldest_first_with_edits_applied(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, me = await _member(portal, synapse, "203.0.113.64")
    other = await make_user("historian")
    created = await other.client.room_create(name="History", invite=[me])
    room_id = created.room_id  # type: ignore[union-attr]
    joined = await browser.post_json("/chat/api/join", {"room": room_id})
    assert joined.status == 200, await joined.text()
    for i in range(35):
        await other.send(room_id, f"line {i}")
    first_line = await other.send(room_id, "draft")
    await other.send(
        room_id,
        "* final",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "final"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first_line},
        },
    )
    path = f"/chat/api/rooms/{quote(room_id)}/messages"
    newest = await (await browser.get(path)).json()
    shown = [e for e in newest["events"] if e["type"] == "message"]
    assert shown[-1]["id"] == first_line and shown[-1]["body"] == "final" and shown[-1]["edited"]
    assert [e["body"] for e in shown[-3:-1]] == ["line 33", "line 34"]
    older = await (await browser.get(f"{path}?from={quote(newest['next'])}")).json()
    bodies = [e["body"] for e in older["events"] if e["type"] == "message"]
    assert bodies == sorted(bodies, key=lambda b: int(b.split()[1])) and bodies[-1] < shown[0]["body"]


async def test_html_from_other_clients_reaches_the_browser_sanitised(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.65")
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    other = await make_user("mallory")
    room_id = await _public_room(other, synapse)
    await other.send(
        room_id,
        "harmless",
        format="org.matrix.custom.html",
        formatted_body='<em>hi</em><script>alert(1)</script><img src=x onerror="alert(2)">',
    )
    data = await stream.wait_for("sync", _sent_by(other.user_id, "harmless"))
    html = next(e["html"] for e in data["events"][room_id] if e.get("body") == "harmless")
    assert html == "<em>hi</em>"
    stream.close()


async def test_private_chat_by_username_reaches_the_other_person(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, me = await _member(portal, synapse, "203.0.113.66")
    friend = await make_user("friend")
    friend_name = friend.user_id[1:].split(":")[0]
    answer = await browser.post_json("/chat/api/direct", {"username": friend_name})
    assert answer.status == 200, await answer.text()
    room_id = (await answer.json())["room_id"]
    again = await (await browser.post_json("/chat/api/direct", {"username": f"@{friend_name}"})).json()
    assert again["room_id"] == room_id  # the same chat, not a second one

    deadline = asyncio.get_running_loop().time() + 20
    while room_id not in (await friend.sync(timeout_ms=2000)).rooms.invite:
        assert asyncio.get_running_loop().time() < deadline, "the invitation never arrived"

    for username, status in (("nobody-here", 404), (me[1:].split(":")[0], 400), ("", 400)):
        refused = await browser.post_json("/chat/api/direct", {"username": username})
        assert refused.status == status, username


async def test_an_invitation_shows_up_and_can_be_accepted_as_a_direct_chat(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, me = await _member(portal, synapse, "203.0.113.67")
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    friend = await make_user("inviter")
    created = await friend.client.room_create(is_direct=True, invite=[me])
    room_id = created.room_id  # type: ignore[union-attr]
    data = await stream.wait_for("sync", lambda d: any(r["id"] == room_id for r in d["rooms"]))
    invite = next(r for r in data["rooms"] if r["id"] == room_id)
    assert (invite["membership"], invite["kind"], invite["inviter"]) == ("invite", "direct", friend.user_id)

    accepted = await browser.post_json("/chat/api/join", {"room": room_id, "direct_with": friend.user_id})
    assert accepted.status == 200
    await stream.wait_for(
        "sync", lambda d: any(r["id"] == room_id and r["membership"] == "join" for r in d["rooms"])
    )
    stream.close()


async def test_read_marks_clear_the_unread_count(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.68")
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    other = await make_user("counter")
    room_id = await _public_room(other, synapse)
    event_id = await other.send(room_id, "count me")
    await stream.wait_for("sync", lambda d: any(r["id"] == room_id and r["unread"] >= 1 for r in d["rooms"]))
    assert (
        await browser.post_json(f"/chat/api/rooms/{quote(room_id)}/read", {"event_id": event_id})
    ).status == 200
    await stream.wait_for("sync", lambda d: any(r["id"] == room_id and r["unread"] == 0 for r in d["rooms"]))
    stream.close()


async def test_public_rooms_directory_and_join(portal: TestClient, synapse: SynapseServer) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.69")
    rooms = (await (await browser.get("/chat/api/directory")).json())["rooms"]
    public = next(r for r in rooms if r["alias"] == f"#public:{synapse.server_name}")
    joined = await browser.post_json("/chat/api/join", {"room": public["alias"]})
    assert (await joined.json())["room_id"] == public["id"]
    refused = await browser.post_json("/chat/api/join", {"room": "not a room"})
    assert refused.status == 400


async def test_model_choice_in_the_chat(
    portal: TestClient, synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.70")
    listed = await (await browser.get("/chat/api/models")).json()
    assert {"llama3:latest", "llava:latest"} <= set(listed["models"]) and not listed["offline"]
    chosen = await browser.post_json("/chat/api/model", {"model": "llava:latest"})
    assert (await chosen.json())["current"] == "llava:latest"
    assert (await (await browser.get("/chat/api/models")).json())["current"] == "llava:latest"
    refused = await browser.post_json("/chat/api/model", {"model": "no-such-model"})
    assert refused.status == 400 and "no model called" in (await refused.json())["error"]


async def test_homeserver_outage_gives_clear_errors_and_the_stream_says_so(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, _ = await _member(portal, synapse, "203.0.113.71")
    other = await make_user("witness")
    room_id = await _public_room(other, synapse)
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    synapse.stop()
    try:
        response = await browser.post_json(
            f"/chat/api/rooms/{quote(room_id)}/send", {"body": "hi", "txn": "t-out"}
        )
        assert response.status == 502 and "unreachable" in (await response.json())["error"]
        assert (await stream.wait_for("status"))["homeserver"] == "down"
    finally:
        await synapse.start()
    assert (await stream.wait_for("status", timeout=60))["homeserver"] == "up"
    # The page retries with the same transaction id: the message is stored once, and the
    # stream, which never closed, delivers it.
    again = await browser.post_json(f"/chat/api/rooms/{quote(room_id)}/send", {"body": "hi", "txn": "t-out"})
    assert again.status == 200
    await stream.wait_for(
        "sync", lambda d: any(e.get("txn") == "t-out" for e in d["events"].get(room_id, []))
    )
    stream.close()


async def test_stream_ends_promptly_when_the_portal_shuts_down(
    synapse: SynapseServer, ollama: OllamaDouble
) -> None:
    app = create_app(portal_settings(synapse, ollama.base_url))
    client = TestClient(TestServer(app))
    await client.start_server()
    browser = Browser(client, "203.0.113.72")
    assert (await browser.sign_up(unique("leaver"))).status == 303
    stream = await browser.open_stream()
    await stream.wait_for("rooms")
    started = asyncio.get_running_loop().time()
    await client.close()
    assert asyncio.get_running_loop().time() - started < 5
    with pytest.raises((EOFError, aiohttp.ClientError, asyncio.TimeoutError)):
        await stream.next(timeout=5)


async def test_encrypted_rooms_are_not_written_to_in_clear_and_the_ai_chat_stays_readable(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    from nio import RoomCreateResponse

    browser, me = await _member(portal, synapse, "203.0.113.73")
    friend = await make_user("cipher")
    encryption = {
        "type": "m.room.encryption",
        "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    created = await friend.client.room_create(is_direct=True, invite=[me], initial_state=[encryption])
    assert isinstance(created, RoomCreateResponse)
    assert (
        await browser.post_json("/chat/api/join", {"room": created.room_id, "direct_with": friend.user_id})
    ).status == 200
    refused = await browser.post_json(
        f"/chat/api/rooms/{quote(created.room_id)}/send", {"body": "in clear?", "txn": "t-enc"}
    )
    assert refused.status == 409 and "end-to-end encrypted" in (await refused.json())["error"]

    # The only direct chat with this friend is encrypted: the portal opens a readable one.
    fresh = await (await browser.post_json("/chat/api/direct", {"username": friend.user_id})).json()
    assert fresh["room_id"] != created.room_id


async def test_typing_reaches_the_other_person(
    portal: TestClient, synapse: SynapseServer, make_user: UserFactory
) -> None:
    browser, me = await _member(portal, synapse, "203.0.113.74")
    other = await make_user("watcher")
    room_id = await _public_room(other, synapse)
    assert (
        await browser.post_json(f"/chat/api/rooms/{quote(room_id)}/typing", {"typing": True})
    ).status == 200
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        response = await other.sync(timeout_ms=2000)
        room = response.rooms.join.get(room_id)
        if room and any(me in getattr(e, "users", []) for e in room.ephemeral):
            break
        assert asyncio.get_running_loop().time() < deadline, "the typing notice never arrived"
    refused = await browser.post_json(f"/chat/api/rooms/{quote(room_id)}/typing", {"typing": "yes"})
    assert refused.status == 400


async def test_one_person_cannot_open_unbounded_streams(portal: TestClient, synapse: SynapseServer) -> None:
    from portal.chat.stream import MAX_STREAMS_PER_USER

    browser, _ = await _member(portal, synapse, "203.0.113.75")
    streams = [await browser.open_stream() for _ in range(MAX_STREAMS_PER_USER)]
    extra = await browser.get("/chat/api/stream")
    assert extra.status == 429
    streams.pop().close()
    for _ in range(100):  # the server notices the closed stream at its next write
        again = await browser.get("/chat/api/stream")
        if again.status == 200:
            again.close()
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("a closed stream was never given back")
    for stream in streams:
        stream.close()

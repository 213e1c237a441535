"""What the admins decide about the assistant, end to end: set in the portal's admin area,
followed by the real bot through Synapse. Access for a list of people or the members of
a room (anyone else gets one polite notice per question), a daily quota (the remaining
amount in `!help` and on the model page, then a notice), the usage page's figures equal
to the answers given, and the model allow-list in `!models`, `!model`, the portal and
the model the answers come from. Every test puts the settings back as it found them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from nio import RoomCreateResponse, RoomPreset

from bot import strings
from portal.app import create_app
from tests.bot_process import BotProcess
from tests.conftest import UserFactory
from tests.matrix_user import MatrixUser, wait_for_answer, wait_until_member
from tests.ollama_double import OllamaDouble
from tests.portal_client import Browser
from tests.synapse_server import SynapseServer
from tests.test_portal_accounts import portal_settings, unique

EVERYONE = {"mode": "everyone", "people": "", "rooms": "", "answers": "", "tokens": "", "all_models": "1"}


@pytest.fixture
async def admin(synapse: SynapseServer, ollama: OllamaDouble) -> AsyncIterator[Browser]:
    """An admin of the platform in the portal; the settings are put back afterwards."""
    name = unique("keeper")
    settings = portal_settings(synapse, ollama.base_url, ADMIN_USERS=name, PORTAL_SIGNUP_RATE="1000/hour")
    async with TestClient(TestServer(create_app(settings))) as client:
        browser = Browser(client, "203.0.113.140")
        assert (await browser.sign_up(name)).status == 303
        try:
            yield browser
        finally:
            assert (await _save(browser, EVERYONE)).status == 303


async def _save(admin: Browser, form: dict[str, str], models: tuple[str, ...] = ()) -> object:
    token = await admin.csrf("/admin/assistant")
    data = [*form.items(), *(("model", m) for m in models), ("csrf_token", token)]
    return await admin.client.post(
        "/admin/assistant", data=data, headers=admin.headers(Origin=admin.origin), allow_redirects=False
    )


async def _ask(person: MatrixUser, room_id: str, bot_id: str, text: str) -> str:
    question = await person.send(room_id, f"@bot {text}")
    return (await wait_for_answer(person, room_id, question, bot_id, timeout=30)).body


async def test_only_the_people_named_are_answered_and_the_rest_are_told_politely(
    synapse: SynapseServer, bot: BotProcess, admin: Browser, make_user: UserFactory
) -> None:
    ann, bob = await make_user("ann"), await make_user("bob")
    public = f"#public:{synapse.server_name}"
    room_ann, room_bob = await ann.join(public), await bob.join(public)
    bot_id = synapse.provisioned.bot_user_id
    assert (await _save(admin, {**EVERYONE, "mode": "people", "people": ann.user_id})).status == 303

    assert await _ask(ann, room_ann, bot_id, "hello") == "You said: hello"
    assert await _ask(bob, room_bob, bot_id, "hello") == strings.ACCESS_REFUSED
    assert await _ask(bob, room_bob, bot_id, "again") == strings.ACCESS_REFUSED  # a notice each time
    assert await _ask(bob, room_bob, bot_id, "!help") != strings.ACCESS_REFUSED  # commands still work


async def test_members_of_a_chosen_room_are_answered_everywhere_and_others_are_not(
    synapse: SynapseServer, bot: BotProcess, admin: Browser, make_user: UserFactory
) -> None:
    ann, bob = await make_user("ann"), await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    created = await ann.client.room_create(name="Club", invite=[bot_id], preset=RoomPreset.private_chat)
    assert isinstance(created, RoomCreateResponse)
    await wait_until_member(ann, created.room_id, bot_id)
    saved = await _save(admin, {**EVERYONE, "mode": "rooms", "rooms": created.room_id})
    assert saved.status == 303, await saved.text()  # type: ignore[attr-defined]

    public = f"#public:{synapse.server_name}"
    room_ann, room_bob = await ann.join(public), await bob.join(public)
    assert await _ask(ann, room_ann, bot_id, "club member here") == "You said: club member here"
    assert await _ask(bob, room_bob, bot_id, "let me in") == strings.ACCESS_REFUSED


async def test_a_quota_is_shown_then_reached_and_the_usage_page_counts_every_answer(
    synapse: SynapseServer, bot: BotProcess, admin: Browser, make_user: UserFactory
) -> None:
    ann = await make_user("quota")
    room = await ann.join(f"#public:{synapse.server_name}")
    bot_id = synapse.provisioned.bot_user_id
    assert (await _save(admin, {**EVERYONE, "answers": "2"})).status == 303

    assert "2 of 2 answers left today" in await _ask(ann, room, bot_id, "!help")
    for word in ("one", "two words"):
        assert await _ask(ann, room, bot_id, word) == f"You said: {word}"
    assert "0 of 2 answers left today" in await _ask(ann, room, bot_id, "!help")
    refused = await _ask(ann, room, bot_id, "three")
    assert refused == strings.QUOTA_REACHED.format(limit="2 answers a day")

    usage = await (await admin.get("/admin/usage")).text()
    row = re.search(rf"<th scope=\"row\">{re.escape(ann.user_id)}</th>(.*?)</tr>", usage)
    assert row, "the person is not in the usage figures"
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    # 2 answers; 10 prompt tokens each (the double's count); 3 + 4 words written.
    assert cells[:3] == ["2", "20", "7"], cells
    assert "two words" not in usage and "You said" not in usage  # counts, never content


async def test_the_allow_list_limits_the_models_everywhere(
    synapse: SynapseServer, bot: BotProcess, admin: Browser, make_user: UserFactory, ollama: OllamaDouble
) -> None:
    ann = await make_user("picky")
    room = await ann.join(f"#public:{synapse.server_name}")
    bot_id = synapse.provisioned.bot_user_id
    form = {**EVERYONE, "all_models": ""}
    assert (await _save(admin, form, models=("llava:latest",))).status == 303

    listed = await _ask(ann, room, bot_id, "!models")
    assert "llava:latest" in listed and "llama3" not in listed
    assert await _ask(ann, room, bot_id, "!model llama3") == strings.MODEL_UNKNOWN.format(model="`llama3`")
    before = len(ollama.chat_requests())
    assert await _ask(ann, room, bot_id, "which model?") == "You said: which model?"
    assert [r["model"] for r in ollama.chat_requests()[before:]] == ["llava:latest"]  # not the default
    page = await (await admin.get("/models")).text()
    assert 'value="llava:latest"' in page and 'value="llama3:latest"' not in page


async def test_a_summary_counts_against_the_quota_like_an_answer(
    synapse: SynapseServer, bot: BotProcess, admin: Browser, make_user: UserFactory
) -> None:
    ann, bob = await make_user("quota"), await make_user("bob")
    bot_id = synapse.provisioned.bot_user_id
    created = await ann.client.room_create(invite=[bot_id, bob.user_id], preset=RoomPreset.private_chat)
    assert isinstance(created, RoomCreateResponse)
    room = created.room_id
    await wait_until_member(ann, room, bot_id)
    await bob.join(room)
    await bob.send(room, "the shop opens at nine")
    assert (await _save(admin, {**EVERYONE, "answers": "1"})).status == 303

    first = await ann.send(room, "!summary")
    summary = await wait_for_answer(ann, room, first, bot_id, lambda v: "You said" in v.body, 30)
    assert summary.body.startswith("**Summary: the last 100 messages** (1 message)")
    second = await ann.send(room, "!summary")
    refused = await wait_for_answer(ann, room, second, bot_id, timeout=30)
    assert refused.body == strings.QUOTA_REACHED.format(limit="1 answer a day")

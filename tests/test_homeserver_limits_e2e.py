"""The bot honours Synapse's rate limit (429 M_LIMIT_EXCEEDED with retry_after_ms): on a
homeserver with strict limits and no override for the bot, every answer still arrives,
exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from tests.bot_process import BotProcess
from tests.matrix_user import AnswerView, MatrixUser
from tests.ollama_double import OllamaDouble
from tests.synapse_server import TEST_OVERLAY, SynapseServer, start_synapse

STRICT = {**TEST_OVERLAY, "rc_message": {"per_second": 1, "burst_count": 2}}


@pytest.fixture(scope="module")
def strict_synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    server = start_synapse(tmp_path_factory.mktemp("strict"), overlays=(STRICT,))
    yield server
    server.stop()


async def test_rate_limited_bot_waits_and_delivers_every_answer_once(
    strict_synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path
) -> None:
    synapse = strict_synapse
    bot_id = synapse.provisioned.bot_user_id
    override = f"{synapse.url}/_synapse/admin/v1/users/{quote(bot_id)}/override_ratelimit"
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {synapse.provisioned.admin_token}"}
        async with session.delete(override, headers=headers) as response:
            assert response.status == 200
    env = {**synapse.env(), "OLLAMA_BASE_URL": ollama.base_url, "LOG_LEVEL": "DEBUG"}
    bot = BotProcess(env, synapse.settings.data_dir, tmp_path / "bot.log").start()
    users = [await MatrixUser.register(synapse, f"limited{i}") for i in range(3)]
    try:
        room_id = await users[0].join(f"#public:{synapse.server_name}")
        questions = []
        for user in users[1:]:
            await user.join(room_id)
        for round_ in range(2):
            for i, user in enumerate(users):
                questions.append((user, await user.send(room_id, f"@bot q{round_}-{i}")))
        views = {q: AnswerView(q, bot_id) for _, q in questions}
        deadline = time.monotonic() + 60
        while not all(v.body.startswith("You said") for v in views.values()):
            assert time.monotonic() < deadline, {q: v.body for q, v in views.items()}
            response = await users[0].sync(timeout_ms=3000)
            room = response.rooms.join.get(room_id)
            for event in room.timeline.events if room else []:
                for view in views.values():
                    view.feed(event.source)
        assert all(v.other_replies == [] for v in views.values())
        assert "429" in bot.logs() or "ratelimited" in bot.logs()
    finally:
        bot.stop()
        for user in users:
            await user.close()

"""Only in `TEST_SYNAPSE_MODE=workers`: the bot really works through the generic worker
(its /sync and client calls go there), not just through the main process."""

from __future__ import annotations

import pytest

from tests.bot_process import BotProcess
from tests.conftest import SYNAPSE_MODE, UserFactory
from tests.matrix_user import wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer

pytestmark = pytest.mark.skipif(SYNAPSE_MODE != "workers", reason="runs with TEST_SYNAPSE_MODE=workers")


async def test_the_generic_worker_serves_the_bots_syncs(
    synapse: SynapseServer, bot: BotProcess, ollama: OllamaDouble, make_user: UserFactory
) -> None:
    assert synapse.proxy is not None and synapse.worker is not None
    before = synapse.proxy.routed_to_worker
    alice = await make_user("alice")
    room_id = await alice.join(f"#public:{synapse.server_name}")
    question = await alice.send(room_id, "@bot through the worker?")
    await wait_for_answer(
        alice, room_id, question, synapse.provisioned.bot_user_id, "You said: through the worker?"
    )
    assert synapse.proxy.routed_to_worker > before
    assert synapse.worker.poll() is None
    worker_log = (synapse.settings.data_dir / "worker.log").read_text(errors="replace")
    assert "Traceback" not in worker_log

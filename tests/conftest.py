"""Shared fixtures: one real Synapse and one Ollama double per test session, the real
bot as a subprocess, and registered Matrix users."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from tests.bot_process import BotProcess
from tests.matrix_user import MatrixUser
from tests.ollama_double import FakeModel, OllamaDouble
from tests.synapse_server import SynapseServer, start_synapse

# `TEST_SYNAPSE_MODE=postgres` or `workers` runs the suite against Synapse on PostgreSQL,
# or on PostgreSQL with a generic worker behind a proxy (CI does both for the e2e tests).
SYNAPSE_MODE = os.environ.get("TEST_SYNAPSE_MODE", "sqlite")


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    server = start_synapse(tmp_path_factory.mktemp("stack"), mode=SYNAPSE_MODE)
    yield server
    server.shut_down()


@pytest.fixture(scope="session")
def approval_synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A second Synapse, with SIGNUP_MODE=approval (new accounts wait for an admin)."""
    server = start_synapse(tmp_path_factory.mktemp("approval"), env={"SIGNUP_MODE": "approval"})
    yield server
    server.shut_down()


@pytest.fixture(scope="session")
def ollama_server() -> Iterator[OllamaDouble]:
    double = OllamaDouble(models=[FakeModel("llama3:latest"), FakeModel("llava:latest", vision=True)]).start()
    yield double
    double.stop()


@pytest.fixture
def ollama(ollama_server: OllamaDouble) -> Iterator[OllamaDouble]:
    """The session's Ollama double, reset to defaults (echo replies, no delay, no errors)."""
    ollama_server.reset()
    yield ollama_server
    if ollama_server._loop is None:  # a test stopped it: bring it back for the others
        ollama_server.start()
    ollama_server.reset()


BOT_RATE_LIMIT = 15


def bot_env(synapse: SynapseServer, ollama_url: str) -> dict[str, str]:
    """The test bot's environment: this Synapse and Ollama double, short timeouts."""
    return {
        **synapse.env(),
        "OLLAMA_BASE_URL": ollama_url,
        "OLLAMA_MODEL": "llama3:latest",
        "OLLAMA_TIMEOUT": "10",
        "OLLAMA_FIRST_TOKEN_TIMEOUT": "10",
        "LOG_LEVEL": "DEBUG",
        "USER_RATE_LIMIT": f"{BOT_RATE_LIMIT}/minute",
        "UNDECRYPTABLE_GRACE_SECONDS": "2",
        "SYNC_TIMELINE_LIMIT": "10",
        "POLICY_CACHE_SECONDS": "0",  # an admin's change applies to the next question
        "KNOWLEDGE_MAX_MB": "2",
        "KNOWLEDGE_READ_TIMEOUT": "20",
        # The double's bag-of-words vectors score a matching passage lower than a real model
        # does (about 0.5 where nomic-embed-text gives 0.7); unrelated ones score under 0.25.
        "KNOWLEDGE_MIN_SCORE": "0.3",
    }


@pytest.fixture(scope="session")
def bot(synapse: SynapseServer, ollama_server: OllamaDouble) -> Iterator[BotProcess]:
    data_dir = synapse.settings.data_dir
    process = BotProcess(bot_env(synapse, ollama_server.base_url), data_dir, data_dir / "bot.log").start()
    yield process
    process.stop()


UserFactory = Callable[..., Awaitable[MatrixUser]]


@pytest.fixture
async def make_user(synapse: SynapseServer) -> AsyncIterator[UserFactory]:
    users: list[MatrixUser] = []

    async def factory(prefix: str = "user", **kwargs: object) -> MatrixUser:
        user = await MatrixUser.register(synapse, prefix, **kwargs)  # type: ignore[arg-type]
        users.append(user)
        return user

    yield factory
    for user in users:
        await user.close()

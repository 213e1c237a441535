"""The benchmarks' stacks: one Synapse and the Ollama double, with the real bot process
(`bench_stack`) or the real portal process (`portal_stack`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from common.synapse_admin import wait_for_http
from stack.settings import REPO_ROOT
from tests.bot_process import BotProcess
from tests.ollama_double import OllamaDouble, free_port
from tests.synapse_server import TEST_OVERLAY, SynapseServer, start_synapse

# Cheap password hashing: the benchmark registers a thousand accounts.
BENCH_OVERLAY = {**TEST_OVERLAY, "bcrypt_rounds": 4}


@dataclass
class BenchStack:
    synapse: SynapseServer
    ollama: OllamaDouble
    bot: BotProcess
    data_dir: Path


@contextlib.contextmanager
def model_process(
    reply: str, first_chunk_delay: float, chunk_delay: float, parallel: int | None = None
) -> Iterator[str]:
    """The Ollama double in a process of its own (serving `parallel` requests at once,
    if given); yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ollama_double",
            "--port",
            str(port),
            "--reply",
            reply,
            "--first-chunk-delay",
            str(first_chunk_delay),
            "--chunk-delay",
            str(chunk_delay),
            *(["--parallel", str(parallel)] if parallel is not None else []),
        ],
        cwd=REPO_ROOT,
    )
    try:
        asyncio.run(_wait_for_model(f"http://127.0.0.1:{port}"))
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def _wait_for_portal(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        await wait_for_http(session, f"{url}/healthz", timeout=30)


@dataclass
class PortalStack:
    synapse: SynapseServer
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path


@contextlib.contextmanager
def portal_stack(prefix: str, overlay: dict[str, object], **portal_env: str) -> Iterator[PortalStack]:
    """Synapse (with `overlay`), the Ollama double and `python -m portal` on a free port."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        synapse = start_synapse(Path(tmp), overlays=(overlay,))
        ollama = OllamaDouble().start()
        port = free_port()
        env = {
            **os.environ,
            **synapse.env(),
            "OLLAMA_BASE_URL": ollama.base_url,
            "PORTAL_PORT": str(port),
            **portal_env,
        }
        portal = subprocess.Popen([sys.executable, "-m", "portal"], env=env, cwd=REPO_ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(_wait_for_portal(url))
            yield PortalStack(synapse, url, portal, Path(tmp))
        finally:
            portal.terminate()
            portal.wait(10)
            ollama.stop()
            synapse.stop()


async def _wait_for_model(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        await wait_for_http(session, f"{url}/api/version", timeout=20)


def restart_bot(stack: BenchStack, **env: str) -> None:
    """Stop the bot and start it again on the same data, with `env` changed (another model
    server, a proxy in front of Synapse, more rooms to join)."""
    stack.bot.stop()
    stack.bot.env = {**stack.bot.env, **env}
    stack.bot.start()


@contextlib.contextmanager
def bench_stack(model_url: str | None = None, mode: str = "sqlite", **bot_env: str) -> Iterator[BenchStack]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        data_dir = Path(tmp)
        synapse = start_synapse(data_dir, overlays=(BENCH_OVERLAY,), mode=mode)
        ollama = OllamaDouble().start()
        env = {
            **synapse.env(),
            "OLLAMA_BASE_URL": model_url or ollama.base_url,
            "LOG_LEVEL": "WARNING",
            "USER_RATE_LIMIT": "1000/minute",
            **bot_env,
        }
        bot = BotProcess(env, data_dir, data_dir / "bot.log").start()
        try:
            yield BenchStack(synapse, ollama, bot, data_dir)
        finally:
            bot.stop()
            ollama.stop()
            synapse.shut_down()

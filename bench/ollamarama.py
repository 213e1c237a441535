"""ollamarama-matrix, the peer we compare with: installed from PyPI into a side virtual
environment under var/bench/ (never committed), configured and run against the
benchmark's Synapse and Ollama double.

What its package does, read from 1.6.1: it logs in with a password, joins the rooms in
`matrix.channels` at start and declines every invitation (it joins, says no, leaves),
answers `.ai <question>` (or `<display name>: <question>`) from anyone in those rooms,
ignores messages older than its start, and handles one message at a time inside its
sync callback. It first posts a "Thinking." placeholder, animates it by editing it every
0.8 s, asks Ollama without streaming (`stream: false`, with its tool schema), and edits
the placeholder into `**<asker's display name>**:\\n<answer>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.answers import shown_body
from common.synapse_admin import Registration, register_user
from stack.settings import REPO_ROOT
from tests.matrix_user import Event, MatrixUser
from tests.synapse_server import SynapseServer

VERSION = "1.6.1"
PACKAGE = f"ollamarama-matrix=={VERSION}"
VENV = REPO_ROOT / "var" / "bench" / f"ollamarama-{VERSION}"
PASSWORD = "peer bot passphrase 42"
PREFIX = ".ai"


class PeerUnavailable(RuntimeError):
    """ollamarama-matrix could not be installed or started; the message says why."""


def install() -> Path:
    """The `ollamarama-matrix` command, installed first if need be (about 30 s, once)."""
    command = VENV / "bin" / "ollamarama-matrix"
    marker = VENV / "installed.txt"
    if command.exists() and marker.exists() and marker.read_text() == PACKAGE:
        return command
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PACKAGE,
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PeerUnavailable(f"`{' '.join(step[-3:])}` failed ({done.returncode}): {last[0]}")
    marker.write_text(PACKAGE)
    return command


@dataclass(frozen=True)
class Peer:
    user_id: str
    registration: Registration  # a device of its account for the benchmark's own checks

    def is_answer(self, event: Event, words: str) -> bool:
        """An event of its that shows `words` (its final edit of the placeholder)."""
        return (
            event.get("type") == "m.room.message"
            and event.get("sender") == self.user_id
            and words in shown_body(event)
        )


async def register(synapse: SynapseServer, username: str = "ollamarama") -> Peer:
    async with aiohttp.ClientSession() as session:
        registration = await register_user(session, synapse.url, synapse.shared_secret, username, PASSWORD)
    return Peer(registration.user_id, registration)


def _config(
    synapse: SynapseServer, peer: Peer, model_url: str, channels: list[str], store: Path
) -> dict[str, Any]:
    return {
        "matrix": {
            "server": synapse.url,
            "username": peer.user_id,
            "password": PASSWORD,
            "channels": channels,
            "admins": [],
            # 1.6.1 loads its store before it logs in, and nio refuses that without a
            # device id: with the documented empty default it exits at start.
            "device_id": "OLLAMARAMA",
            "store_path": str(store),
            "e2e": False,  # no encrypted rooms in the benchmark
        },
        "ollama": {
            "api_url": f"{model_url}/api/chat",
            "models": {"llama3": "llama3:latest"},
            "default_model": "llama3",
            "personality": "a helpful assistant",
        },
    }


@contextlib.asynccontextmanager
async def running(
    synapse: SynapseServer, peer: Peer, model_url: str, channels: list[str], asker: MatrixUser, workdir: Path
) -> AsyncIterator[None]:
    """ollamarama-matrix in `channels` (room ids), from the moment it answers `asker`'s
    warm-up question in the first of them until the block ends."""
    command = await asyncio.to_thread(install)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.json"
    config.write_text(json.dumps(_config(synapse, peer, model_url, channels, workdir / "store"), indent=2))
    log_path = workdir / "ollamarama.log"
    with open(log_path, "ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(command),
            "--config",
            str(config),
            "--log-level",
            "WARNING",
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        await _until_answering(peer, asker, channels[0], process, log_path)
        yield
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _until_answering(
    peer: Peer, asker: MatrixUser, room_id: str, process: asyncio.subprocess.Process, log_path: Path
) -> None:
    """It ignores what was said before it joined all its rooms, so ask until it answers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise PeerUnavailable(f"ollamarama-matrix exited with {process.returncode}: {' | '.join(tail)}")
        await asker.send(room_id, f"{PREFIX} warm-up")
        with contextlib.suppress(TimeoutError):
            answered = lambda e: peer.is_answer(e, "") and "Thinking" not in shown_body(e)  # noqa: E731
            await asker.wait_for(room_id, answered, timeout=5)
            return
    raise PeerUnavailable(f"ollamarama-matrix did not answer within 60 s; see {log_path}")

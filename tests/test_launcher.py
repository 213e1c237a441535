"""`python -m stack run` (what `make run` calls): the whole stack comes up, answers
`@bot` in #public, and Ctrl-C stops every process it started within 10 s."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from stack.settings import REPO_ROOT, StackSettings
from tests.matrix_user import MatrixUser, wait_for_answer
from tests.ollama_double import OllamaDouble, free_port
from tests.synapse_server import SynapseServer


def _processes_with_env(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def _wait_until_ready(portal_url: str, bot_health: Path, launcher: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert launcher.poll() is None, "the launcher exited early"
            try:
                async with session.get(f"{portal_url}/healthz") as response:
                    body = await response.json()
                    if body["status"] == "ok" and bot_health.exists():
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("stack did not become ready")


async def test_make_run_brings_the_stack_up_and_ctrl_c_stops_it(tmp_path: Path, ollama: OllamaDouble) -> None:
    data_dir = tmp_path / "var"
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "SYNAPSE_PORT": str(free_port()),
        "SYNAPSE_PORTAL_PORT": str(free_port()),
        "PORTAL_PORT": str(free_port()),
        "OLLAMA_BASE_URL": ollama.base_url,
    }
    marker = f"DATA_DIR={data_dir}"
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log_file:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "stack", "run"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        started = time.monotonic()
        await _wait_until_ready(
            f"http://127.0.0.1:{env['PORTAL_PORT']}", data_dir / "bot" / "health.json", launcher
        )
        ready_after = time.monotonic() - started
        output = log_path.read_text()
        assert "The platform is up." in output
        assert f"http://localhost:{env['PORTAL_PORT']}/" in output
        assert "Element" in output

        settings = StackSettings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
        server = SynapseServer(settings, launcher, None, log_path)  # type: ignore[arg-type]
        alice = await MatrixUser.register(server, "alice")
        try:
            room_id = await alice.join(f"#public:{settings.server_name}")
            question = await alice.send(room_id, "@bot hi")
            await wait_for_answer(alice, room_id, question, settings.bot_user_id, "You said: hi")
        finally:
            await alice.close()

        children = _processes_with_env(marker)
        assert len(children) >= 3, children  # synapse, bot, portal (and their shells)
        launcher.send_signal(signal.SIGINT)
        stop_started = time.monotonic()
        launcher.wait(timeout=10)
        assert time.monotonic() - stop_started < 10
        assert _processes_with_env(marker) == [], "processes left behind after Ctrl-C"
        print(f"stack ready after {ready_after:.1f} s")
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in _processes_with_env(marker):
            os.kill(pid, signal.SIGKILL)

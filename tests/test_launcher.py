"""`python -m stack run` (what `make run` calls): the banner comes only once the platform
is ready (a question in #public right after it is answered), a sign-up in the first
moments never fails with a 500, a crashed bot or portal is restarted while the other
processes keep running, and Ctrl-C stops every process it started within 10 s."""

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

BANNER = "The platform is up."


def _processes_with_env(marker: str) -> dict[int, str]:
    """pid → command line of every process started with `marker` in its environment."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def _pid_of(marker: str, module: str) -> int | None:
    for pid, command in _processes_with_env(marker).items():
        if f"-m {module}" in command and "/bin/sh" not in command and "stack bootstrap" not in command:
            return pid
    return None


async def _restarted(marker: str, module: str, old_pid: int, timeout: float = 60) -> int:
    """The pid of `module` once a process other than `old_pid` runs it."""

    async def new_pid() -> int | None:
        pid = _pid_of(marker, module)
        return pid if pid and pid != old_pid else None

    return int(await _until(new_pid, timeout, f"{module} was not restarted"))


async def _ready(portal: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{portal}/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _until(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise TimeoutError(what)


async def _sign_up_right_after_healthz(session: aiohttp.ClientSession, portal: str) -> int:
    """The moment /healthz first answers 200, sign up: the answer is never a 500."""

    async def healthy() -> bool:
        try:
            async with session.get(f"{portal}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await _until(healthy, 120, "the portal's /healthz never answered")
    async with session.get(f"{portal}/signup") as response:
        page = await response.text()
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "username": "early", "password": "a long passphrase 42"}
    form["confirm"] = form["password"]
    async with session.post(
        f"{portal}/signup", data=form, headers={"Origin": portal}, allow_redirects=False
    ) as response:
        return response.status


async def test_make_run_is_ready_when_it_says_restarts_a_crashed_bot_or_portal_and_stops_on_ctrl_c(
    tmp_path: Path, ollama: OllamaDouble
) -> None:
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
    portal = f"http://127.0.0.1:{env['PORTAL_PORT']}"
    with open(log_path, "wb") as log_file:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "stack", "run"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    settings = StackSettings.from_env({k: v for k, v in env.items() if isinstance(v, str)})
    server = SynapseServer(settings, launcher, None, log_path)  # type: ignore[arg-type]
    try:
        started = time.monotonic()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            early_sign_up = await _sign_up_right_after_healthz(session, portal)

        async def banner_shown() -> bool:
            assert launcher.poll() is None, "the launcher exited early"
            return BANNER in log_path.read_text()

        await _until(banner_shown, 120, "no banner")
        ready_after = time.monotonic() - started
        assert early_sign_up in {303, 400}, f"a sign-up right after /healthz answered {early_sign_up}"
        readable = [
            f"{oct(path.stat().st_mode & 0o777)} {path}"
            for path in [data_dir, *data_dir.rglob("*")]
            if not path.is_symlink() and path.stat().st_mode & 0o077
        ]
        assert readable == [], f"readable by others in a fresh DATA_DIR: {readable[:10]}"
        output = log_path.read_text()
        assert f"http://localhost:{env['PORTAL_PORT']}/" in output and "Element" in output

        # Asked in the very moment the banner appears, the question is answered.
        alice = await MatrixUser.register(server, "alice")
        try:
            room_id = await alice.join(f"#public:{settings.server_name}")
            question = await alice.send(room_id, "@bot hi")
            await wait_for_answer(alice, room_id, question, settings.bot_user_id, "You said: hi")

            synapse_pid, portal_pid = _pid_of(marker, "synapse.app"), _pid_of(marker, "portal")
            bot_pid = _pid_of(marker, "bot")
            assert synapse_pid and portal_pid and bot_pid
            os.kill(bot_pid, signal.SIGKILL)
            new_bot_pid = await _restarted(marker, "bot", bot_pid)
            assert _pid_of(marker, "synapse.app") == synapse_pid, "Synapse was restarted too"
            assert _pid_of(marker, "portal") == portal_pid, "the portal was restarted too"

            # The portal crashes too: it comes back and is ready again, and nothing else
            # restarts (the bot answers meanwhile, so the wait costs little).
            os.kill(portal_pid, signal.SIGKILL)
            question = await alice.send(room_id, "@bot back?")
            await wait_for_answer(
                alice, room_id, question, settings.bot_user_id, "You said: back?", timeout=60
            )
            new_portal_pid = await _restarted(marker, "portal", portal_pid)
            await _until(lambda: _ready(portal), 60, "the restarted portal's /readyz never answered 200")
            assert _pid_of(marker, "portal") == new_portal_pid, "the restarted portal did not stay up"
            assert _pid_of(marker, "synapse.app") == synapse_pid, "Synapse was restarted with the portal"
            assert _pid_of(marker, "bot") == new_bot_pid, "the bot was restarted with the portal"
            output = log_path.read_text()
            assert "exited: bot" in output and "exited: portal" in output  # the crashes are in the log
        finally:
            await alice.close()

        assert len(_processes_with_env(marker)) >= 3
        launcher.send_signal(signal.SIGINT)
        stop_started = time.monotonic()
        launcher.wait(timeout=15)
        assert time.monotonic() - stop_started < 10
        assert _processes_with_env(marker) == {}, "processes left behind after Ctrl-C"
        print(f"stack ready after {ready_after:.1f} s")
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in _processes_with_env(marker):
            os.kill(pid, signal.SIGKILL)

"""`python -m stack run|render|bootstrap`: the commands behind `make run`."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys

import aiohttp

from common import logs
from common.env import ConfigError, load_environ
from stack.bootstrap import bootstrap
from stack.settings import REPO_ROOT, StackSettings
from stack.supervisor import run_processes
from stack.synapse_config import render


def _ready_banner(settings: StackSettings) -> str:
    return "\n".join(
        [
            "",
            "The platform is up.",
            f"  Homeserver:  {settings.public_baseurl.rstrip('/')}  (server name {settings.server_name})",
            f"  Portal:      http://localhost:{settings.portal_port}/",
            f"  AI model:    {settings.ollama_model} at {settings.ollama_base_url}",
            "  Matrix client: open Element (or any client), choose 'Sign in' with homeserver",
            f"  {settings.public_baseurl.rstrip('/')} and an account made in the portal; then say",
            f"  '@{settings.bot_username} hello' in #public:{settings.server_name}.",
            "  Stop everything with Ctrl-C.",
            "",
        ]
    )


async def _bootstrap(settings: StackSettings) -> None:
    async with aiohttp.ClientSession() as session:
        await bootstrap(settings, session)
    print(_ready_banner(settings), flush=True)


def _run(settings: StackSettings) -> int:
    config_path = render(settings)
    python = shlex.quote(sys.executable)
    env = dict(os.environ, DATA_DIR=str(settings.data_dir), PYTHONUNBUFFERED="1")
    processes = {
        "synapse": f"exec {python} -m synapse.app.homeserver -c {shlex.quote(str(config_path))}",
        # The bot starts once Synapse answers and the accounts and rooms exist.
        "bot": f"{python} -m stack bootstrap && exec {python} -m bot",
        "portal": f"exec {python} -m portal",
    }
    return run_processes(processes, env=env, cwd=str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack")
    parser.add_argument("command", choices=["run", "render", "bootstrap"])
    args = parser.parse_args(argv)
    env = load_environ()
    try:
        settings = StackSettings.from_env(env)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(env, settings.log_level)
    if args.command == "render":
        print(render(settings))
        return 0
    if args.command == "bootstrap":
        asyncio.run(_bootstrap(settings))
        return 0
    return _run(settings)


if __name__ == "__main__":
    sys.exit(main())

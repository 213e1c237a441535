"""`python -m stack run|render|bootstrap|wait-ready|invite`: the commands behind `make run`
(and `make invite`, which prints a one-use invitation code: the way in for the first
account when SIGNUP_MODE=token and nobody can make codes in the portal yet)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from pathlib import Path

import aiohttp

from common import logs
from common import secrets as app_secrets
from common.env import settings_or_exit
from portal.admin.homeserver import HomeserverAdmin
from stack.backup import BackupError, backup, restore
from stack.bootstrap import bootstrap
from stack.readiness import wait_until_ready
from stack.settings import REPO_ROOT, StackSettings
from stack.supervisor import Program, run_programs
from stack.synapse_config import render


async def _bootstrap(settings: StackSettings) -> None:
    async with aiohttp.ClientSession() as session:
        await bootstrap(settings, session)


async def _invite(settings: StackSettings) -> str:
    token = app_secrets.read_secret(settings.data_dir, app_secrets.PORTAL_ADMIN_TOKEN)
    expiry_ms = int((time.time() + INVITE_DAYS * 86400) * 1000)
    async with aiohttp.ClientSession() as session:
        return await HomeserverAdmin(session, settings.homeserver_url, token).create_code(1, expiry_ms)


INVITE_DAYS = 7


def _programs(settings: StackSettings) -> list[Program]:
    config_path = render(settings)
    python = shlex.quote(sys.executable)
    return [
        Program("synapse", f"{python} -m synapse.app.homeserver -c {shlex.quote(str(config_path))}", 10),
        # The bot starts once Synapse answers and the accounts and rooms exist.
        Program("bot", f"/bin/sh -c '{python} -m stack bootstrap && exec {python} -m bot'", 20),
        Program("portal", f"{python} -m portal", 20),
        # Prints the banner once the platform is ready, then is done.
        Program("ready", f"{python} -m stack wait-ready", 30, restart=False, start_seconds=0),
    ]


def _backup_or_restore(args: argparse.Namespace) -> int:
    env, settings = settings_or_exit(StackSettings.from_env)
    try:
        if args.command == "backup":
            urls = (settings.synapse_database_url, env.get("DATABASE_URL", ""))
            archive = backup(settings.data_dir, args.to or settings.data_dir / "backups", urls)
            print(f"Backed up {settings.data_dir} to {archive}")
        else:
            if not args.archive:
                raise BackupError("say which archive to restore: make restore FROM=path/to/backup.tar.gz")
            manifest = restore(Path(args.archive), settings.data_dir)
            print(f"Restored {manifest.get('files')} files (backup of {manifest.get('created')} UTC) ")
            print(f"into {settings.data_dir}; start it with make run (DATA_DIR={settings.data_dir}).")
    except BackupError as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1
    return 0


def _run(settings: StackSettings) -> None:
    env = dict(os.environ, DATA_DIR=str(settings.data_dir), PYTHONUNBUFFERED="1")
    os.chdir(REPO_ROOT)
    print("Starting Synapse, the bot and the portal; the banner says when all is ready.", flush=True)
    run_programs(_programs(settings), settings.data_dir / "run", env)


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # DATA_DIR and everything in it is private to this user
    parser = argparse.ArgumentParser(prog="python -m stack")
    parser.add_argument(
        "command", choices=["run", "render", "bootstrap", "wait-ready", "invite", "backup", "restore"]
    )
    parser.add_argument("archive", nargs="?", help="restore: the backup archive to unpack into DATA_DIR")
    parser.add_argument("--to", type=Path, help="backup: the folder for the archive (DATA_DIR/backups)")
    args = parser.parse_args(argv)
    if args.command in {"backup", "restore"}:
        return _backup_or_restore(args)
    env, settings = settings_or_exit(StackSettings.from_env)
    logs.configure(env, settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)
    if args.command == "render":
        print(render(settings))
    elif args.command == "bootstrap":
        asyncio.run(_bootstrap(settings))
    elif args.command == "wait-ready":
        asyncio.run(wait_until_ready(settings))
    elif args.command == "invite":
        code = asyncio.run(_invite(settings))
        print(f"Invitation code (one account, valid {INVITE_DAYS} days): {code}")
    else:
        _run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The *ideal bot*: the baseline for a burst of questions. A minimal asyncio Matrix client
(aiohttp; no memory, no database, no streaming, no typing, no receipts) that joins the
rooms it is invited to and answers every message someone else writes there exactly
`delay` seconds after its sync delivered it, with one homeserver write (one send, a reply).

It runs in a process of its own (`python -m bench.ideal_bot ...`, started by `ideal_bot()`),
so its timing never competes with the benchmark's own clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from stack.settings import REPO_ROOT

TOKEN_VARIABLE = "IDEAL_BOT_ACCESS_TOKEN"  # not on the command line, where `ps` shows it
SYNC_FILTER = json.dumps(
    {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "timeline": {"limit": 100},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }
)


class IdealBot:
    def __init__(self, http: aiohttp.ClientSession, homeserver: str, user_id: str, token: str) -> None:
        self._http = http
        self._base = f"{homeserver.rstrip('/')}/_matrix/client/v3"
        self._auth = {"Authorization": f"Bearer {token}"}
        self._user_id = user_id
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, reply: str, delay: float, ready_file: Path) -> None:
        since: str | None = None
        while True:
            body = await self._sync(since)
            loop_time = asyncio.get_running_loop().time()
            rooms = body.get("rooms", {})
            for room_id in rooms.get("invite", {}):
                self._spawn(self._join(room_id))
            for room_id, room in rooms.get("join", {}).items():
                for event in room.get("timeline", {}).get("events", []) if since else []:
                    if event.get("type") == "m.room.message" and event.get("sender") != self._user_id:
                        self._spawn(self._answer(room_id, event["event_id"], reply, loop_time + delay))
            if since is None:
                ready_file.write_text("ready")
            since = body["next_batch"]

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, since: str | None) -> dict[str, Any]:
        params = {"filter": SYNC_FILTER, "timeout": "30000" if since else "0"}
        if since:
            params["since"] = since
        async with self._http.get(f"{self._base}/sync", params=params, headers=self._auth) as response:
            response.raise_for_status()
            return dict(await response.json())

    async def _join(self, room_id: str) -> None:
        async with self._http.post(f"{self._base}/join/{quote(room_id)}", json={}, headers=self._auth) as r:
            r.raise_for_status()

    async def _answer(self, room_id: str, event_id: str, reply: str, due: float) -> None:
        await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        content = {
            "msgtype": "m.text",
            "body": reply,
            "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
        }
        url = f"{self._base}/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}"
        async with self._http.put(url, json=content, headers=self._auth) as response:
            response.raise_for_status()


async def _main(args: argparse.Namespace) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        bot = IdealBot(http, args.homeserver, args.user_id, args.token)
        await bot.run(args.reply, args.delay, Path(args.ready_file))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("--homeserver", "--user-id", "--reply", "--ready-file"):
        parser.add_argument(name, required=True)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    args.token = os.environ[TOKEN_VARIABLE]
    asyncio.run(_main(args))


@contextlib.asynccontextmanager
async def ideal_bot(
    homeserver: str, user_id: str, token: str, reply: str, delay: float, workdir: Path
) -> AsyncIterator[None]:
    """The ideal bot in its own process, from its first sync until the block ends."""
    ready = workdir / f"ideal-bot-{uuid.uuid4().hex[:6]}.ready"
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.ideal_bot", "--homeserver", homeserver, "--user-id", user_id],
        *["--reply", reply, "--delay", str(delay), "--ready-file", str(ready)],
        cwd=REPO_ROOT,
        env={**os.environ, TOKEN_VARIABLE: token},
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the ideal bot did not start (exit code {process.returncode})")
            await asyncio.sleep(0.05)  # polling for the ready file, not a fixed wait
        yield
    finally:
        process.terminate()
        await process.wait()


if __name__ == "__main__":
    main()

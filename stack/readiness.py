"""`python -m stack wait-ready`: wait until the portal says the platform is ready (its
`/readyz`: rooms created, the bot joined and synced), then print the banner. Until then,
say every 15 s what is still missing, so a slow or stuck start is never silent."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from stack.settings import StackSettings

log = logging.getLogger(__name__)

POLL_S = 0.25
TELL_EVERY_S = 15.0


def banner(settings: StackSettings) -> str:
    homeserver = settings.public_baseurl.rstrip("/")
    return "\n".join(
        [
            "",
            "The platform is up.",
            f"  Homeserver:  {homeserver}  (server name {settings.server_name})",
            f"  Portal:      http://localhost:{settings.portal_port}/",
            f"  AI model:    {settings.ollama_model} at {settings.ollama_base_url}",
            "  Matrix client: open Element (or any client), choose 'Sign in' with homeserver",
            f"  {homeserver} and an account made in the portal; then say",
            f"  '@{settings.bot_username} hello' in #public:{settings.server_name}.",
            "  Stop everything with Ctrl-C.",
            "",
        ]
    )


def _missing(state: dict[str, Any] | None) -> str:
    if state is None:
        return "the portal does not answer yet"
    rooms = state.get("rooms") or {}
    parts = [f"{alias} does not exist yet" for alias, ok in rooms.items() if not ok]
    if not state.get("bot"):
        parts.append("the bot has not joined its rooms and synced yet")
    return "; ".join(parts) or "checking"


async def wait_until_ready(settings: StackSettings) -> None:
    url = f"{settings.portal_url}/readyz"
    started = told = time.monotonic()
    state: dict[str, Any] | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while True:
            try:
                async with session.get(url) as response:
                    state = await response.json(content_type=None)
                    if response.status == 200:
                        break
            except (aiohttp.ClientError, TimeoutError, ValueError):
                state = None
            if time.monotonic() - told >= TELL_EVERY_S:
                told = time.monotonic()
                log.info("not ready after %.0f s: %s", told - started, _missing(state))
            await asyncio.sleep(POLL_S)
    print(banner(settings), flush=True)

"""`python -m stack wait-ready`: wait until the portal says the platform is ready (its
`/readyz`: rooms created, the bot joined and synced), then print the banner. Until then,
say every 15 s what is still missing, so a slow or stuck start is never silent."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

from common.ollama_servers import OllamaServers
from stack.settings import StackSettings

log = logging.getLogger(__name__)

POLL_S = 0.25
TELL_EVERY_S = 15.0


SIGNUP_LINES = {
    "open": "open; the first account you sign up in the portal is its admin",
    "token": "by invitation code (an admin makes them in the portal's Admin page)",
    "approval": "each account waits for an admin's approval (the first one is the admin)",
    "closed": "closed (SIGNUP_MODE=closed)",
}


def banner(settings: StackSettings, ai: str) -> str:
    homeserver = settings.public_baseurl.rstrip("/")
    return "\n".join(
        [
            "",
            "The platform is up.",
            f"  Homeserver:  {homeserver}  (server name {settings.server_name})",
            f"  Portal:      http://localhost:{settings.portal_port}/",
            f"  Sign-up:     {SIGNUP_LINES[settings.signup_mode]}",
            f"  AI model:    {ai}",
            "  Matrix client: open Element (or any client), choose 'Sign in' with homeserver",
            f"  {homeserver} and an account made in the portal; then say",
            f"  '@{settings.bot_username} hello' in #public:{settings.server_name}.",
            "  Stop everything with Ctrl-C.",
            "",
        ]
    )


async def model_tier_line(settings: StackSettings) -> str:
    """The banner's AI line: where the model answers, or exactly what to do so it does."""
    model = settings.ollama_model
    servers = OllamaServers(settings.ollama_urls, timeout=5)
    await servers.refresh(force=True)
    ready = [s.url for s in servers.up if s.has(model)]
    if ready:
        return f"{model} at {', '.join(ready)}"
    if servers.up:
        urls = ", ".join(s.url for s in servers.up)
        short = model.removesuffix(":latest")
        return f"Ollama at {urls} answers but has no {model} yet: run `ollama pull {short}` (chat works now)"
    urls = ", ".join(settings.ollama_urls)
    return (
        f"Ollama did not answer at {urls}: install it (https://ollama.com) and run `ollama serve`, "
        f"then `ollama pull {model.removesuffix(':latest')}` (chat works meanwhile)"
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
    print(banner(settings, await model_tier_line(settings)), flush=True)

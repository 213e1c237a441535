"""`python -m bot`: build the bot's parts from settings and run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from nio import AsyncClient, AsyncClientConfig

from bot.app import Bot
from bot.assistant import Assistant
from bot.config import BotSettings
from bot.sync_position import SyncPosition
from common.env import ConfigError, load_environ


async def serve(settings: BotSettings) -> None:
    store_dir = settings.state_dir / "crypto"
    store_dir.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        settings.homeserver_url,
        settings.user_id,
        store_path=str(store_dir),
        config=AsyncClientConfig(encryption_enabled=True, max_timeout_retry_wait_time=10, request_timeout=45),
    )
    assistant = Assistant(
        settings.ollama_base_url, settings.ollama_model, settings.system_prompt, settings.ollama_timeout
    )
    bot = Bot(settings, client, assistant, SyncPosition(settings.state_dir))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bot.run(stop)
    finally:
        await client.close()


def main() -> int:
    try:
        settings = BotSettings.from_env(load_environ())
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("nio").setLevel(logging.WARNING)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

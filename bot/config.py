"""Bot settings, read once from the environment at start-up and checked there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appdb.engine import default_database_url
from bot.summary.request import MAX_MESSAGES
from common import secrets as app_secrets
from common.env import ConfigError, get_float, get_int, get_rate, get_str
from common.shared_settings import SharedSettings, checked_database_url

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant in a Matrix chat. Answer clearly and concisely. Use Markdown when it helps."
)


@dataclass(frozen=True)
class BotSettings:
    data_dir: Path
    homeserver_url: str
    server_name: str
    bot_username: str
    bot_password: str
    ollama_urls: tuple[str, ...]
    ollama_model: str
    ollama_timeout: float  # seconds without a new token before an answer is given up
    ollama_first_token_timeout: float  # seconds until the first token (a model may be loading)
    ollama_parallel: int  # requests each Ollama server takes at once; the rest wait their turn
    system_prompt: str
    database_url: str
    max_context_tokens: int
    history_window_messages: int
    max_input_chars: int
    edit_interval_s: float
    max_edits_per_answer: int
    catchup_window_s: int
    user_rate_limit: str
    sync_timeline_limit: int
    undecryptable_grace_s: float
    log_level: str
    platform_rooms: tuple[str, ...]  # aliases the bot joins at start (`#public:server`)
    allowed_servers: frozenset[str]  # whose people may invite and ask the bot
    max_image_bytes: int
    summary_max_messages: int  # the most messages one catch-up summary reads
    policy_cache_s: float  # how long the admins' assistant settings are kept before reading again
    embed_model: str  # embeds the rooms' files and the questions about them
    knowledge_max_bytes: int  # the largest file the bot reads into a room's knowledge
    knowledge_max_pages: int  # a PDF with more pages is refused before any is read
    knowledge_max_chars: int  # text of one file past this is left out
    knowledge_read_timeout_s: float  # reading one file's text, in the worker process
    knowledge_worker_mb: int  # the worker process's memory limit
    knowledge_min_score: float  # passages less similar to a question than this are not used
    reminders_per_room: int = 50  # reminders still to come one room may have
    reminders_per_person: int = 20  # reminders still to come one person may have, in all rooms
    reminder_grace_s: int = 3600  # a reminder due while the bot was down is posted late within this

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "bot"

    @property
    def user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BotSettings:
        shared = SharedSettings.from_env(env)
        rooms = get_str(env, "BOT_ROOMS", "public,gallery")
        servers = get_str(env, "BOT_ALLOWED_SERVERS", shared.server_name)
        return cls(
            data_dir=shared.data_dir,
            homeserver_url=shared.homeserver_url,
            server_name=shared.server_name,
            bot_username=shared.bot_username,
            bot_password=_bot_password(env, shared.data_dir),
            ollama_urls=shared.ollama_urls,
            ollama_model=shared.ollama_model,
            ollama_timeout=get_float(env, "OLLAMA_TIMEOUT", 120.0, minimum=1, maximum=3600),
            ollama_first_token_timeout=get_float(env, "OLLAMA_FIRST_TOKEN_TIMEOUT", 300.0, minimum=1),
            ollama_parallel=get_int(env, "OLLAMA_PARALLEL", 4, minimum=1, maximum=256),
            system_prompt=get_str(env, "SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT),
            database_url=checked_database_url(env, "DATABASE_URL", default_database_url(shared.data_dir)),
            max_context_tokens=get_int(env, "MAX_CONTEXT_TOKENS", 4096, minimum=256, maximum=1_000_000),
            history_window_messages=get_int(env, "HISTORY_WINDOW_MESSAGES", 200, minimum=2, maximum=10_000),
            max_input_chars=get_int(env, "MAX_INPUT_CHARS", 8000, minimum=100, maximum=1_000_000),
            edit_interval_s=get_float(env, "STREAM_EDIT_INTERVAL", 1.0, minimum=0.05, maximum=60),
            max_edits_per_answer=get_int(env, "STREAM_MAX_EDITS", 30, maximum=1000),
            catchup_window_s=get_int(env, "CATCHUP_WINDOW_SECONDS", 600, minimum=10, maximum=7 * 86400),
            user_rate_limit=get_rate(env, "USER_RATE_LIMIT", "20/minute"),
            sync_timeline_limit=get_int(env, "SYNC_TIMELINE_LIMIT", 50, minimum=1, maximum=1000),
            undecryptable_grace_s=get_float(env, "UNDECRYPTABLE_GRACE_SECONDS", 15.0, maximum=3600),
            log_level=shared.log_level,
            platform_rooms=tuple(
                f"#{name.strip().lstrip('#').split(':')[0]}:{shared.server_name}"
                for name in rooms.split(",")
                if name.strip() and name.strip() != "-"
            ),
            allowed_servers=frozenset(s.strip() for s in servers.split(",") if s.strip()),
            max_image_bytes=get_int(env, "MAX_IMAGE_MB", 20, minimum=1, maximum=1024) * 1024 * 1024,
            policy_cache_s=get_float(env, "POLICY_CACHE_SECONDS", 5.0, minimum=0, maximum=300),
            embed_model=shared.embed_model,
            knowledge_max_bytes=shared.knowledge_max_bytes,
            knowledge_max_pages=get_int(env, "KNOWLEDGE_MAX_PAGES", 1000, minimum=1, maximum=100_000),
            knowledge_max_chars=get_int(
                env, "KNOWLEDGE_MAX_CHARS", 2_000_000, minimum=1000, maximum=100_000_000
            ),
            knowledge_read_timeout_s=get_float(env, "KNOWLEDGE_READ_TIMEOUT", 120.0, minimum=1, maximum=3600),
            knowledge_worker_mb=get_int(env, "KNOWLEDGE_WORKER_MB", 768, minimum=64, maximum=65536),
            knowledge_min_score=get_float(env, "KNOWLEDGE_MIN_SCORE", 0.5, minimum=-1, maximum=1),
            summary_max_messages=get_int(
                env, "SUMMARY_MAX_MESSAGES", MAX_MESSAGES, minimum=10, maximum=MAX_MESSAGES
            ),
            reminders_per_room=get_int(env, "REMINDERS_PER_ROOM", 50, minimum=1, maximum=100_000),
            reminders_per_person=get_int(env, "REMINDERS_PER_PERSON", 20, minimum=1, maximum=100_000),
            # At most 12 h: Synapse remembers a transaction id for a day, and a firing resent
            # after a crash must still be recognised (bot/reminders/messages.py).
            reminder_grace_s=get_int(env, "REMINDER_GRACE_SECONDS", 3600, minimum=0, maximum=12 * 3600),
        )


def _bot_password(env: Mapping[str, str], data_dir: Path) -> str:
    password = get_str(env, "BOT_PASSWORD", "")
    if password:
        return password
    try:
        return app_secrets.read_secret(data_dir, app_secrets.BOT_PASSWORD)
    except FileNotFoundError:
        raise ConfigError(
            "BOT_PASSWORD is not set and no bot password exists under DATA_DIR/secrets/bot; "
            "run `python -m stack bootstrap` first"
        ) from None

"""Bot settings, read once from the environment at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from limits import parse

from appdb.engine import default_database_url
from common import secrets as app_secrets
from common.env import ConfigError, get_float, get_int, get_str, get_url

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
    ollama_base_url: str
    ollama_model: str
    ollama_timeout: float
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

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "bot"

    @property
    def user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BotSettings:
        data_dir = Path(get_str(env, "DATA_DIR", "./var")).resolve()
        synapse_port = get_int(env, "SYNAPSE_PORT", 8008, minimum=1)
        return cls(
            data_dir=data_dir,
            homeserver_url=get_url(env, "HOMESERVER_URL", f"http://127.0.0.1:{synapse_port}"),
            server_name=get_str(env, "SERVER_NAME", "localhost"),
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            bot_password=_bot_password(env, data_dir),
            ollama_base_url=get_url(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", "llama3:latest"),
            ollama_timeout=get_float(env, "OLLAMA_TIMEOUT", 120.0),
            system_prompt=get_str(env, "SYSTEM_PROMPT", DEFAULT_SYSTEM_PROMPT),
            database_url=get_str(env, "DATABASE_URL", default_database_url(data_dir)),
            max_context_tokens=get_int(env, "MAX_CONTEXT_TOKENS", 4096, minimum=256),
            history_window_messages=get_int(env, "HISTORY_WINDOW_MESSAGES", 200, minimum=2),
            max_input_chars=get_int(env, "MAX_INPUT_CHARS", 8000, minimum=100),
            edit_interval_s=get_float(env, "STREAM_EDIT_INTERVAL", 1.0),
            max_edits_per_answer=get_int(env, "STREAM_MAX_EDITS", 30),
            catchup_window_s=get_int(env, "CATCHUP_WINDOW_SECONDS", 600),
            user_rate_limit=_rate(get_str(env, "USER_RATE_LIMIT", "20/minute")),
            sync_timeline_limit=get_int(env, "SYNC_TIMELINE_LIMIT", 50, minimum=1),
            undecryptable_grace_s=get_float(env, "UNDECRYPTABLE_GRACE_SECONDS", 15.0),
            log_level=get_str(env, "LOG_LEVEL", "INFO").upper(),
        )


def _bot_password(env: Mapping[str, str], data_dir: Path) -> str:
    password = get_str(env, "BOT_PASSWORD", "")
    if password:
        return password
    try:
        return app_secrets.read_secret(data_dir, app_secrets.BOT_PASSWORD)
    except FileNotFoundError:
        raise ConfigError(
            "BOT_PASSWORD is not set and no bot password exists under DATA_DIR/secrets; "
            "run `python -m stack bootstrap` first"
        ) from None


def _rate(value: str) -> str:
    try:
        parse(value)
    except ValueError:
        raise ConfigError(f"USER_RATE_LIMIT must look like '20/minute', got {value!r}") from None
    return value

"""The settings every component shares, with their defaults written once: where the data
lives, the server's name, the bot's account, where Synapse and Ollama answer, logging."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from common.env import ConfigError, get_log_level, get_port, get_str, get_url, get_urls

DEFAULT_MODEL = "llama3:latest"
PLACEHOLDER_PASSWORDS = frozenset({"change-me", "changeme", "password", "postgres", "secret", "example"})


@dataclass(frozen=True)
class SharedSettings:
    data_dir: Path
    server_name: str
    bot_username: str
    admin_username: str
    synapse_port: int
    homeserver_url: str  # how this component reaches Synapse's client API
    ollama_urls: tuple[str, ...]  # the model tier: one Ollama server, or several
    ollama_model: str  # the model for people who have not chosen one
    log_level: str

    @property
    def ollama_base_url(self) -> str:
        return self.ollama_urls[0]

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SharedSettings:
        synapse_port = get_port(env, "SYNAPSE_PORT", 8008)
        return cls(
            data_dir=Path(get_str(env, "DATA_DIR", "./var")).resolve(),
            server_name=get_str(env, "SERVER_NAME", "localhost"),
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            admin_username=get_str(env, "ADMIN_USERNAME", "admin"),
            synapse_port=synapse_port,
            homeserver_url=get_url(env, "HOMESERVER_URL", f"http://127.0.0.1:{synapse_port}"),
            ollama_urls=get_urls(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", DEFAULT_MODEL),
            log_level=get_log_level(env, "LOG_LEVEL", "INFO"),
        )


def checked_database_url(env: Mapping[str, str], name: str, default: str) -> str:
    """A database URL whose password is not a placeholder from an example file."""
    url = get_str(env, name, default)
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        password = unquote(urlsplit(url).password or "")
        if password.lower() in PLACEHOLDER_PASSWORDS:
            raise ConfigError(f"{name} uses the placeholder password {password!r}: set a real one")
    return url

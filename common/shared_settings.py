"""The settings every component shares, with their defaults written once: where the data
lives, the server's name, the bot's account, where Synapse and Ollama answer, logging."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from common.env import ConfigError, get_int, get_log_level, get_port, get_str, get_url, get_urls

DEFAULT_MODEL = "llama3:latest"
DEFAULT_EMBED_MODEL = "nomic-embed-text:latest"
SIGNUP_MODES = ("open", "token", "approval", "closed")
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
    signup_mode: str  # open, token (an invitation code), approval (an admin approves), closed
    admin_users: frozenset[str]  # user ids named in ADMIN_USERS: portal admins from the start
    embed_model: str  # the model that embeds a room's files and the questions about them
    knowledge_max_bytes: int  # the largest file a room's knowledge takes (KNOWLEDGE_MAX_MB)

    @property
    def ollama_base_url(self) -> str:
        return self.ollama_urls[0]

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SharedSettings:
        synapse_port = get_port(env, "SYNAPSE_PORT", 8008)
        server_name = get_str(env, "SERVER_NAME", "localhost")
        return cls(
            data_dir=Path(get_str(env, "DATA_DIR", "./var")).resolve(),
            server_name=server_name,
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            admin_username=get_str(env, "ADMIN_USERNAME", "admin"),
            synapse_port=synapse_port,
            homeserver_url=get_url(env, "HOMESERVER_URL", f"http://127.0.0.1:{synapse_port}"),
            ollama_urls=get_urls(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", DEFAULT_MODEL),
            log_level=get_log_level(env, "LOG_LEVEL", "INFO"),
            signup_mode=_signup_mode(env),
            admin_users=_admin_users(env, server_name),
            embed_model=_with_tag(get_str(env, "EMBED_MODEL", DEFAULT_EMBED_MODEL)),
            knowledge_max_bytes=get_int(env, "KNOWLEDGE_MAX_MB", 20, minimum=1, maximum=1024) * 1024 * 1024,
        )


def _with_tag(model: str) -> str:
    """Ollama's names: `nomic-embed-text` is `nomic-embed-text:latest`."""
    return model if ":" in model else f"{model}:latest"


def _signup_mode(env: Mapping[str, str]) -> str:
    mode = get_str(env, "SIGNUP_MODE", "open").lower()
    if mode not in SIGNUP_MODES:
        raise ConfigError(f"SIGNUP_MODE must be one of {', '.join(SIGNUP_MODES)}, got {mode!r}")
    return mode


def _admin_users(env: Mapping[str, str], server_name: str) -> frozenset[str]:
    """`ADMIN_USERS`: usernames or Matrix ids of this server, comma-separated."""
    ids: set[str] = set()
    for raw in (part.strip() for part in get_str(env, "ADMIN_USERS", "").split(",")):
        if not raw:
            continue
        user_id = raw if raw.startswith("@") else f"@{raw}:{server_name}"
        if not user_id.endswith(f":{server_name}") or len(user_id) > 255:
            raise ConfigError(f"ADMIN_USERS has {raw!r}, which is not an account of {server_name}")
        ids.add(user_id.lower())
    return frozenset(ids)


def checked_database_url(env: Mapping[str, str], name: str, default: str) -> str:
    """A database URL whose password is not a placeholder from an example file."""
    url = get_str(env, name, default)
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        password = unquote(urlsplit(url).password or "")
        if password.lower() in PLACEHOLDER_PASSWORDS:
            raise ConfigError(f"{name} uses the placeholder password {password!r}: set a real one")
    return url

"""Launcher settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.env import ConfigError, get_bool, get_int, get_str, get_url

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class StackSettings:
    data_dir: Path
    server_name: str
    synapse_port: int
    synapse_portal_port: int
    synapse_bind_address: str
    synapse_portal_bind_address: str
    synapse_database_url: str
    public_baseurl: str
    portal_port: int
    ollama_base_url: str
    ollama_model: str
    bot_username: str
    admin_username: str
    enable_federation: bool
    max_upload_mb: int
    log_level: str
    synapse_log_level: str

    @property
    def synapse_dir(self) -> Path:
        return self.data_dir / "synapse"

    @property
    def homeserver_yaml(self) -> Path:
        return self.synapse_dir / "homeserver.yaml"

    @property
    def homeserver_url(self) -> str:
        return f"http://127.0.0.1:{self.synapse_port}"

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackSettings:
        synapse_port = get_int(env, "SYNAPSE_PORT", 8008, minimum=1)
        synapse_portal_port = get_int(env, "SYNAPSE_PORTAL_PORT", synapse_port + 1, minimum=1)
        portal_port = get_int(env, "PORTAL_PORT", 8080, minimum=1)
        if len({synapse_port, synapse_portal_port, portal_port}) < 3:
            raise ConfigError("SYNAPSE_PORT, SYNAPSE_PORTAL_PORT and PORTAL_PORT must all differ")
        log_level = _log_level(env, "LOG_LEVEL", "INFO")
        synapse_log_level = _log_level(env, "SYNAPSE_LOG_LEVEL", "WARNING")
        return cls(
            data_dir=Path(get_str(env, "DATA_DIR", "./var")).resolve(),
            server_name=get_str(env, "SERVER_NAME", "localhost"),
            synapse_port=synapse_port,
            synapse_portal_port=synapse_portal_port,
            synapse_bind_address=get_str(env, "SYNAPSE_BIND_ADDRESS", "127.0.0.1"),
            synapse_portal_bind_address=get_str(env, "SYNAPSE_PORTAL_BIND_ADDRESS", "127.0.0.1"),
            synapse_database_url=get_str(env, "SYNAPSE_DATABASE_URL", ""),
            public_baseurl=get_url(env, "PUBLIC_BASEURL", f"http://localhost:{synapse_port}") + "/",
            portal_port=portal_port,
            ollama_base_url=get_url(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", "llama3:latest"),
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            admin_username=get_str(env, "ADMIN_USERNAME", "admin"),
            enable_federation=get_bool(env, "ENABLE_FEDERATION", False),
            max_upload_mb=get_int(env, "MAX_UPLOAD_MB", 100, minimum=1),
            log_level=log_level,
            synapse_log_level=synapse_log_level,
        )


def _log_level(env: Mapping[str, str], name: str, default: str) -> str:
    level = get_str(env, name, default).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return level

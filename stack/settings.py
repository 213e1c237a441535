"""Launcher settings, read once from the environment and checked there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.env import ConfigError, get_bool, get_int, get_log_level, get_port, get_str, get_url
from common.shared_settings import SharedSettings, checked_database_url

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
    synapse_x_forwarded: bool
    public_baseurl: str
    homeserver_url: str  # how the bootstrap reaches Synapse (a service name on compose)
    portal_port: int
    ollama_urls: tuple[str, ...]
    ollama_model: str
    bot_username: str
    admin_username: str
    enable_federation: bool
    max_upload_mb: int
    log_level: str
    synapse_log_level: str
    signup_mode: str

    @property
    def synapse_dir(self) -> Path:
        return self.data_dir / "synapse"

    @property
    def homeserver_yaml(self) -> Path:
        return self.synapse_dir / "homeserver.yaml"

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackSettings:
        shared = SharedSettings.from_env(env)
        synapse_port = shared.synapse_port
        synapse_portal_port = get_port(env, "SYNAPSE_PORTAL_PORT", min(synapse_port + 1, 65535))
        portal_port = get_port(env, "PORTAL_PORT", 8080)
        if len({synapse_port, synapse_portal_port, portal_port}) < 3:
            raise ConfigError("SYNAPSE_PORT, SYNAPSE_PORTAL_PORT and PORTAL_PORT must all differ")
        return cls(
            data_dir=shared.data_dir,
            server_name=shared.server_name,
            synapse_port=synapse_port,
            synapse_portal_port=synapse_portal_port,
            synapse_bind_address=get_str(env, "SYNAPSE_BIND_ADDRESS", "127.0.0.1"),
            synapse_portal_bind_address=get_str(env, "SYNAPSE_PORTAL_BIND_ADDRESS", "127.0.0.1"),
            synapse_database_url=checked_database_url(env, "SYNAPSE_DATABASE_URL", ""),
            synapse_x_forwarded=get_bool(env, "SYNAPSE_X_FORWARDED", False),
            public_baseurl=get_url(env, "PUBLIC_BASEURL", f"http://localhost:{synapse_port}") + "/",
            homeserver_url=shared.homeserver_url,
            portal_port=portal_port,
            ollama_urls=shared.ollama_urls,
            ollama_model=shared.ollama_model,
            bot_username=shared.bot_username,
            admin_username=shared.admin_username,
            enable_federation=get_bool(env, "ENABLE_FEDERATION", False),
            max_upload_mb=get_int(env, "MAX_UPLOAD_MB", 100, minimum=1, maximum=10_000),
            log_level=shared.log_level,
            synapse_log_level=get_log_level(env, "SYNAPSE_LOG_LEVEL", "WARNING"),
            signup_mode=shared.signup_mode,
        )

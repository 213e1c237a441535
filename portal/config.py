"""Portal settings, read once from the environment at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appdb.engine import default_database_url
from common.env import get_float, get_int, get_str, get_url


@dataclass(frozen=True)
class PortalSettings:
    data_dir: Path
    host: str
    port: int
    server_name: str
    homeserver_url: str
    public_homeserver_url: str
    ollama_base_url: str
    ollama_model: str
    database_url: str
    bot_username: str
    check_timeout: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PortalSettings:
        data_dir = Path(get_str(env, "DATA_DIR", "./var")).resolve()
        synapse_port = get_int(env, "SYNAPSE_PORT", 8008, minimum=1)
        return cls(
            data_dir=data_dir,
            host=get_str(env, "PORTAL_HOST", "127.0.0.1"),
            port=get_int(env, "PORTAL_PORT", 8080, minimum=1),
            server_name=get_str(env, "SERVER_NAME", "localhost"),
            homeserver_url=get_url(env, "HOMESERVER_URL", f"http://127.0.0.1:{synapse_port}"),
            public_homeserver_url=get_url(env, "PUBLIC_BASEURL", f"http://localhost:{synapse_port}"),
            ollama_base_url=get_url(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", "llama3:latest"),
            database_url=get_str(env, "DATABASE_URL", default_database_url(data_dir)),
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            check_timeout=get_float(env, "HEALTH_CHECK_TIMEOUT", 2.0),
        )

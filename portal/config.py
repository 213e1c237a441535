"""Portal settings, read once from the environment at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appdb.engine import default_database_url
from common import secrets as app_secrets
from common.env import get_bool, get_float, get_int, get_str, get_url


@dataclass(frozen=True)
class PortalSettings:
    data_dir: Path
    host: str
    port: int
    server_name: str
    homeserver_url: str
    synapse_portal_url: str
    public_homeserver_url: str
    ollama_base_url: str
    ollama_model: str
    database_url: str
    bot_username: str
    admin_username: str
    check_timeout: float
    trusted_proxies: frozenset[str]
    secure_cookies: bool
    signup_rate: str
    login_rate_per_address: str
    login_rate_per_account: str
    max_upload_mb: int

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    def registration_secret(self) -> str:
        return app_secrets.ensure_secret(self.data_dir, app_secrets.REGISTRATION_SHARED_SECRET)

    def session_key(self) -> str:
        return app_secrets.ensure_secret(self.data_dir, app_secrets.PORTAL_SESSION_KEY)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PortalSettings:
        data_dir = Path(get_str(env, "DATA_DIR", "./var")).resolve()
        synapse_port = get_int(env, "SYNAPSE_PORT", 8008, minimum=1)
        portal_listener = get_int(env, "SYNAPSE_PORTAL_PORT", synapse_port + 1, minimum=1)
        proxies = get_str(env, "PORTAL_TRUSTED_PROXIES", "")
        return cls(
            data_dir=data_dir,
            host=get_str(env, "PORTAL_HOST", "127.0.0.1"),
            port=get_int(env, "PORTAL_PORT", 8080, minimum=1),
            server_name=get_str(env, "SERVER_NAME", "localhost"),
            homeserver_url=get_url(env, "HOMESERVER_URL", f"http://127.0.0.1:{synapse_port}"),
            synapse_portal_url=get_url(env, "SYNAPSE_PORTAL_URL", f"http://127.0.0.1:{portal_listener}"),
            public_homeserver_url=get_url(env, "PUBLIC_BASEURL", f"http://localhost:{synapse_port}"),
            ollama_base_url=get_url(env, "OLLAMA_BASE_URL", "http://127.0.0.1:11434"),
            ollama_model=get_str(env, "OLLAMA_MODEL", "llama3:latest"),
            database_url=get_str(env, "DATABASE_URL", default_database_url(data_dir)),
            bot_username=get_str(env, "BOT_USERNAME", "bot"),
            admin_username=get_str(env, "ADMIN_USERNAME", "admin"),
            check_timeout=get_float(env, "HEALTH_CHECK_TIMEOUT", 2.0),
            trusted_proxies=frozenset(p.strip() for p in proxies.split(",") if p.strip()),
            secure_cookies=get_bool(env, "PORTAL_SECURE_COOKIES", False),
            signup_rate=get_str(env, "PORTAL_SIGNUP_RATE", "5/hour"),
            login_rate_per_address=get_str(env, "PORTAL_LOGIN_RATE_PER_ADDRESS", "20/minute"),
            login_rate_per_account=get_str(env, "PORTAL_LOGIN_RATE_PER_ACCOUNT", "5/minute"),
            max_upload_mb=get_int(env, "MAX_UPLOAD_MB", 100, minimum=1),
        )

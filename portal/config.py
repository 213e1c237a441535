"""Portal settings, read once from the environment at start-up and checked there."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appdb.engine import default_database_url
from common import secrets as app_secrets
from common.env import ConfigError, get_bool, get_float, get_int, get_port, get_rate, get_str, get_url
from common.shared_settings import SharedSettings, checked_database_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PortalSettings:
    data_dir: Path
    host: str
    port: int
    server_name: str
    homeserver_url: str
    synapse_portal_url: str
    public_homeserver_url: str
    ollama_urls: tuple[str, ...]
    ollama_model: str
    database_url: str
    bot_username: str
    admin_username: str
    check_timeout: float
    trusted_proxies: tuple[Network, ...]
    secure_cookies: bool
    signup_rate: str
    login_rate_per_address: str
    login_rate_per_account: str
    max_upload_mb: int
    log_level: str
    session_idle_s: int  # a portal session ends after this long unused
    session_max_s: int  # and after this long in any case
    max_files_per_upload: int
    max_uploads_per_day: int
    media_check_timeout_s: float
    media_check_memory_mb: int
    signup_mode: str  # open, token, approval or closed (see common.shared_settings)
    admin_users: frozenset[str]
    invite_tries: str  # invitation codes tried per address (a rate)
    knowledge_max_bytes: int  # the largest file a room's knowledge takes (KNOWLEDGE_MAX_MB)

    @property
    def bot_user_id(self) -> str:
        return f"@{self.bot_username}:{self.server_name}"

    @property
    def admin_user_id(self) -> str:
        return f"@{self.admin_username}:{self.server_name}"

    def registration_token(self) -> str:
        """The Synapse registration token the portal signs people up with (it creates
        ordinary accounts only); the bootstrap creates it."""
        return app_secrets.read_secret(self.data_dir, app_secrets.PORTAL_REGISTRATION_TOKEN)

    def admin_api_token(self) -> str:
        """The access token of the server's admin account that the portal's admin area acts
        with (approve, deactivate, invitation codes); the bootstrap writes it."""
        return app_secrets.read_secret(self.data_dir, app_secrets.PORTAL_ADMIN_TOKEN)

    def session_key(self) -> str:
        return app_secrets.ensure_secret(self.data_dir, app_secrets.PORTAL_SESSION_KEY)

    def token_key(self) -> str:
        return app_secrets.ensure_secret(self.data_dir, app_secrets.PORTAL_TOKEN_KEY)

    def is_trusted_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PortalSettings:
        shared = SharedSettings.from_env(env)
        portal_listener = get_port(env, "SYNAPSE_PORTAL_PORT", min(shared.synapse_port + 1, 65535))
        public = get_url(env, "PUBLIC_BASEURL", f"http://localhost:{shared.synapse_port}")
        return cls(
            data_dir=shared.data_dir,
            host=get_str(env, "PORTAL_HOST", "127.0.0.1"),
            port=get_port(env, "PORTAL_PORT", 8080),
            server_name=shared.server_name,
            homeserver_url=shared.homeserver_url,
            synapse_portal_url=get_url(env, "SYNAPSE_PORTAL_URL", f"http://127.0.0.1:{portal_listener}"),
            public_homeserver_url=public,
            ollama_urls=shared.ollama_urls,
            ollama_model=shared.ollama_model,
            database_url=checked_database_url(env, "DATABASE_URL", default_database_url(shared.data_dir)),
            bot_username=shared.bot_username,
            admin_username=shared.admin_username,
            check_timeout=get_float(env, "HEALTH_CHECK_TIMEOUT", 2.0, minimum=0.1, maximum=60),
            trusted_proxies=_networks(get_str(env, "PORTAL_TRUSTED_PROXIES", "")),
            secure_cookies=get_bool(env, "PORTAL_SECURE_COOKIES", public.startswith("https://")),
            signup_rate=get_rate(env, "PORTAL_SIGNUP_RATE", "5/hour"),
            login_rate_per_address=get_rate(env, "PORTAL_LOGIN_RATE_PER_ADDRESS", "20/minute"),
            login_rate_per_account=get_rate(env, "PORTAL_LOGIN_RATE_PER_ACCOUNT", "5/minute"),
            max_upload_mb=get_int(env, "MAX_UPLOAD_MB", 100, minimum=1, maximum=10_000),
            log_level=shared.log_level,
            session_idle_s=int(
                get_float(env, "PORTAL_SESSION_IDLE_HOURS", 168, minimum=0.01, maximum=8760) * 3600
            ),
            session_max_s=int(
                get_float(env, "PORTAL_SESSION_MAX_DAYS", 30, minimum=0.001, maximum=365) * 86400
            ),
            max_files_per_upload=get_int(env, "MAX_FILES_PER_UPLOAD", 10, minimum=1, maximum=100),
            max_uploads_per_day=get_int(env, "MAX_UPLOADS_PER_DAY", 100, minimum=1, maximum=100_000),
            media_check_timeout_s=get_float(env, "MEDIA_CHECK_TIMEOUT", 30.0, minimum=1, maximum=600),
            media_check_memory_mb=get_int(env, "MEDIA_CHECK_MEMORY_MB", 1024, minimum=128, maximum=65536),
            signup_mode=shared.signup_mode,
            admin_users=shared.admin_users,
            invite_tries=get_rate(env, "PORTAL_INVITE_TRIES", "10/hour"),
            knowledge_max_bytes=shared.knowledge_max_bytes,
        )


def _networks(raw: str) -> tuple[Network, ...]:
    """`PORTAL_TRUSTED_PROXIES`: addresses or networks (`172.16.0.0/12`), comma-separated."""
    networks: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"PORTAL_TRUSTED_PROXIES has {item!r}, which is no address or network"
            ) from None
    return tuple(networks)

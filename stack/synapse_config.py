"""Render `$DATA_DIR/synapse/homeserver.yaml` from the template in `synapse-config/`.

Secrets are created once per install (see `common.secrets`) and reused on every render,
so reruns keep them. Overlays (YAML mappings) are deep-merged over the template: the
federation switch is one, and the tests add one that lifts rate limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from signedjson.key import generate_signing_key, write_signing_keys

from common import secrets as app_secrets
from common.env import ConfigError
from stack.settings import REPO_ROOT, StackSettings

CONFIG_SOURCE = REPO_ROOT / "synapse-config"


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `overlay` merged in; nested mappings merge, the rest replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _substitutions(settings: StackSettings) -> dict[str, str]:
    data_dir = settings.data_dir
    synapse_dir = settings.synapse_dir
    values: dict[str, Any] = {
        "server_name": settings.server_name,
        "public_baseurl": settings.public_baseurl,
        "pid_file": str(synapse_dir / "homeserver.pid"),
        "database_path": str(synapse_dir / "homeserver.db"),
        "log_config_path": str(synapse_dir / "log.config"),
        "media_store_path": str(synapse_dir / "media_store"),
        "signing_key_path": str(synapse_dir / "signing.key"),
        "synapse_port": settings.synapse_port,
        "portal_listener_port": settings.synapse_portal_port,
        "portal_bind_address": settings.synapse_portal_bind_address,
        "bind_address": settings.synapse_bind_address,
        "x_forwarded": settings.synapse_x_forwarded,
        "max_upload_size": f"{settings.max_upload_mb}M",
        "log_level": settings.synapse_log_level,
        "enable_registration": settings.signup_mode != "closed",
        "require_approval": settings.signup_mode == "approval",
        "registration_shared_secret": app_secrets.ensure_secret(
            data_dir, app_secrets.REGISTRATION_SHARED_SECRET
        ),
        "macaroon_secret_key": app_secrets.ensure_secret(data_dir, app_secrets.MACAROON_SECRET_KEY),
        "form_secret": app_secrets.ensure_secret(data_dir, app_secrets.FORM_SECRET),
    }
    # JSON scalars are valid YAML scalars, so every value is quoted safely.
    return {key: json.dumps(value) for key, value in values.items()}


def _load_yaml_template(path: Path, substitutions: Mapping[str, str]) -> dict[str, Any]:
    text = Template(path.read_text()).substitute(substitutions)
    loaded = yaml.safe_load(text)
    return loaded if isinstance(loaded, dict) else {}


def postgres_database(url: str) -> dict[str, Any]:
    """Synapse's `database` section for a `postgresql://user:password@host:port/db` URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise ConfigError(
            f"SYNAPSE_DATABASE_URL must be postgresql://user:password@host:port/db, got {url!r}"
        )
    args: dict[str, Any] = {
        "user": unquote(parts.username or "synapse"),
        "database": parts.path.strip("/"),
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "cp_min": 5,
        "cp_max": 10,
    }
    if parts.password:
        args["password"] = unquote(parts.password)
    return {"name": "psycopg2", "args": args}


def _ensure_signing_key(path: Path, server_name: str) -> None:
    if path.exists():
        return
    key = generate_signing_key("auto")
    with open(path, "w") as handle:
        write_signing_keys(handle, [key])
    path.chmod(0o600)


def render(settings: StackSettings, overlays: tuple[Mapping[str, Any], ...] = ()) -> Path:
    """Write homeserver.yaml and log.config for `settings`; returns the config path."""
    settings.synapse_dir.mkdir(parents=True, exist_ok=True)
    substitutions = _substitutions(settings)
    config = _load_yaml_template(CONFIG_SOURCE / "homeserver.yaml.template", substitutions)
    if settings.enable_federation:
        federation = _load_yaml_template(CONFIG_SOURCE / "overlays" / "federation.yaml", substitutions)
        config = deep_merge(config, federation)
    if settings.synapse_database_url:
        config["database"] = postgres_database(settings.synapse_database_url)
    for overlay in overlays:
        config = deep_merge(config, overlay)
    log_config = Template((CONFIG_SOURCE / "log.config").read_text()).substitute(substitutions)
    (settings.synapse_dir / "log.config").write_text(log_config)
    _ensure_signing_key(settings.synapse_dir / "signing.key", settings.server_name)
    target = settings.homeserver_yaml
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    target.chmod(0o600)
    return target

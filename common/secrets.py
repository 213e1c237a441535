"""Per-install secrets, one file each, in a folder per component that holds them:
`$DATA_DIR/secrets/<component>/<name>`.

Secrets are random per install, created on first use with mode 0600 (folders 0700), and
kept across restarts. Each component reads only its own folder, so on the server path
each container mounts only the secrets it needs:

- `synapse`: the registration shared secret (it can create admin accounts), the macaroon
  and form secrets; read by the config renderer and the bootstrap, never by the portal.
- `admin`: the admin account's password (bootstrap only).
- `bot`: the bot's password and the key its encryption store is pickled with.
- `portal`: the session-cookie key, the key that encrypts stored Matrix tokens, the
  registration token the portal signs people up with (it creates ordinary accounts only),
  and the admin account's access token its admin area acts with (a device of its own,
  written by the bootstrap; the admin's password stays in `admin`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import NamedTuple


class Secret(NamedTuple):
    component: str
    name: str


REGISTRATION_SHARED_SECRET = Secret("synapse", "registration_shared_secret")
MACAROON_SECRET_KEY = Secret("synapse", "macaroon_secret_key")
FORM_SECRET = Secret("synapse", "form_secret")
ADMIN_PASSWORD = Secret("admin", "admin_password")
BOT_PASSWORD = Secret("bot", "bot_password")
BOT_STORE_KEY = Secret("bot", "crypto_store_key")
PORTAL_SESSION_KEY = Secret("portal", "portal_session_key")
PORTAL_TOKEN_KEY = Secret("portal", "token_key")
PORTAL_REGISTRATION_TOKEN = Secret("portal", "registration_token")
PORTAL_ADMIN_TOKEN = Secret("portal", "admin_api_token")


def secrets_dir(data_dir: Path, component: str | None = None) -> Path:
    root = data_dir / "secrets"
    return root / component if component else root


def _path(data_dir: Path, secret: Secret) -> Path:
    path = secrets_dir(data_dir, secret.component) / secret.name
    legacy = secrets_dir(data_dir) / secret.name  # where earlier versions kept every secret
    if not path.exists() and legacy.is_file():
        _private_dir(path.parent)
        os.replace(legacy, path)
    return path


def _private_dir(folder: Path) -> None:
    """`folder` and the secrets folder above it: mode 0700 (changed only where needed, so
    a read-only mount of a finished folder is fine)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in (folder, folder.parent):
        if path.stat().st_mode & 0o777 != 0o700:
            os.chmod(path, 0o700)


def read_secret(data_dir: Path, secret: Secret) -> str:
    """Read an existing secret; raises FileNotFoundError when it was never created."""
    return _path(data_dir, secret).read_text().strip()


def ensure_secret(data_dir: Path, secret: Secret, nbytes: int = 32) -> str:
    """Return the secret, creating it (0600) when it does not exist yet."""
    return write_secret(data_dir, secret, secrets.token_urlsafe(nbytes), replace=False)


def write_secret(data_dir: Path, secret: Secret, value: str, *, replace: bool = True) -> str:
    """Store `value` (0600); with `replace=False` an existing value wins and is returned."""
    path = _path(data_dir, secret)
    _private_dir(path.parent)
    if not replace and path.exists():
        return path.read_text().strip()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    if replace:
        os.replace(tmp, path)
        return value
    try:
        os.link(tmp, path)  # atomic create-if-absent: a concurrent writer's value wins
    except FileExistsError:
        return path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value

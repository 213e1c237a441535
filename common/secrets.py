"""Per-install secrets kept as one file each under `$DATA_DIR/secrets/`.

Secrets are random per install, created on first use with mode 0600, and kept across
restarts. Each component reads only the secrets it needs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REGISTRATION_SHARED_SECRET = "registration_shared_secret"
MACAROON_SECRET_KEY = "macaroon_secret_key"
FORM_SECRET = "form_secret"
BOT_PASSWORD = "bot_password"
ADMIN_PASSWORD = "admin_password"
PORTAL_SESSION_KEY = "portal_session_key"


def secrets_dir(data_dir: Path) -> Path:
    return data_dir / "secrets"


def read_secret(data_dir: Path, name: str) -> str:
    """Read an existing secret; raises FileNotFoundError when it was never created."""
    return (secrets_dir(data_dir) / name).read_text().strip()


def ensure_secret(data_dir: Path, name: str, nbytes: int = 32) -> str:
    """Return the secret `name`, creating it (0600) when it does not exist yet."""
    folder = secrets_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value

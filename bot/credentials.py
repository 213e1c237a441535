"""The bot's Matrix login, kept under `$DATA_DIR/bot/` so restarts reuse one device."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nio import AsyncClient, LoginResponse, WhoamiResponse

log = logging.getLogger(__name__)

DEVICE_NAME = "AI assistant"


@dataclass(frozen=True)
class StoredLogin:
    user_id: str
    device_id: str
    access_token: str


def load(path: Path) -> StoredLogin | None:
    try:
        return StoredLogin(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def save(path: Path, stored: StoredLogin) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(stored), handle)
    os.replace(tmp, path)


class LoginFailed(Exception):
    pass


async def log_in(client: AsyncClient, password: str, path: Path) -> StoredLogin:
    """Reuse the stored token when Synapse still accepts it; otherwise log in again with
    the same device id, so the device (and its encryption keys) stays the same."""
    stored = load(path)
    if stored is not None:
        client.restore_login(stored.user_id, stored.device_id, stored.access_token)
        if isinstance(await client.whoami(), WhoamiResponse):
            return stored
        log.info("stored access token rejected; logging in again as device %s", stored.device_id)
        client.device_id = stored.device_id
    response = await client.login(password=password, device_name=DEVICE_NAME)
    if not isinstance(response, LoginResponse):
        raise LoginFailed(getattr(response, "message", str(response)))
    fresh = StoredLogin(response.user_id, response.device_id, response.access_token)
    save(path, fresh)
    return fresh

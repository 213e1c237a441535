"""Where the bot's sync stands (`next_batch`), and its health file for supervisors."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class SyncPosition:
    def __init__(self, state_dir: Path) -> None:
        self._token_path = state_dir / "sync_token"
        self._health_path = state_dir / "health.json"
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def load(self) -> str | None:
        try:
            return self._token_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save(self, token: str) -> None:
        _write_atomically(self._token_path, token)

    def mark_healthy(self, user_id: str, *, ready: bool) -> None:
        """After each sync: when it was, and whether the bot is ready (in its rooms)."""
        status = {"user_id": user_id, "last_sync": time.time(), "ready": ready}
        _write_atomically(self._health_path, json.dumps(status))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)

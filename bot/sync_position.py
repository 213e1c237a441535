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
        state_dir.mkdir(parents=True, exist_ok=True)

    def load(self) -> str | None:
        try:
            return self._token_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save(self, token: str) -> None:
        _write_atomically(self._token_path, token)

    def mark_healthy(self, user_id: str) -> None:
        _write_atomically(self._health_path, json.dumps({"user_id": user_id, "last_sync": time.time()}))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)

"""The bot's health check, as compose runs it: healthy only when ready and recent."""

from __future__ import annotations

import json
from pathlib import Path

from bot.healthcheck import healthy


def test_a_recent_sync_of_a_ready_bot_is_healthy_and_anything_else_is_not(tmp_path: Path) -> None:
    assert not healthy(tmp_path, now=1000.0)
    (tmp_path / "health.json").write_text(json.dumps({"last_sync": 990.0, "ready": True}))
    assert healthy(tmp_path, now=1000.0)
    assert not healthy(tmp_path, now=2000.0)
    (tmp_path / "health.json").write_text(json.dumps({"last_sync": 990.0, "ready": False}))
    assert not healthy(tmp_path, now=1000.0), "synced but not yet in its rooms"
    (tmp_path / "health.json").write_text("not json")
    assert not healthy(tmp_path, now=1000.0)

"""The bot's health check, as compose runs it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.healthcheck import healthy


def test_recent_sync_is_healthy_and_old_or_missing_is_not(tmp_path: Path) -> None:
    assert not healthy(tmp_path, now=1000.0)
    (tmp_path / "health.json").write_text(json.dumps({"last_sync": 990.0}))
    assert healthy(tmp_path, now=1000.0)
    assert not healthy(tmp_path, now=2000.0)
    (tmp_path / "health.json").write_text("not json")
    assert not healthy(tmp_path, now=1000.0)

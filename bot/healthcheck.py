"""`python -m bot.healthcheck`: exit 0 when the bot is ready (joined to its rooms, with
its first sync done) and has synced recently, for compose and other supervisors; 1
otherwise. Reads `$DATA_DIR/bot/health.json`."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# A sync long-polls for 30 s, so a healthy bot refreshes the file at least that often.
MAX_AGE_S = 90.0


def healthy(state_dir: Path, now: float, max_age_s: float = MAX_AGE_S) -> bool:
    try:
        status = json.loads((state_dir / "health.json").read_text())
        last_sync = float(status["last_sync"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return status.get("ready") is True and now - last_sync <= max_age_s


def main() -> int:
    state_dir = Path(os.environ.get("DATA_DIR", "./var")).resolve() / "bot"
    ok = healthy(state_dir, time.time())
    print("healthy" if ok else "unhealthy: not ready, or no recent sync")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

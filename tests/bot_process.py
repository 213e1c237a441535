"""Run the real bot (`python -m bot`) as a subprocess against the test Synapse."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stack.settings import REPO_ROOT


class BotProcess:
    def __init__(self, env: dict[str, str], data_dir: Path, log_path: Path) -> None:
        self.env = env
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def health_path(self) -> Path:
        return self.data_dir / "bot" / "health.json"

    def start(self, timeout: float = 60.0) -> BotProcess:
        started = time.time()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )
        self._wait_until_synced_since(started, timeout)
        return self

    def _wait_until_synced_since(self, started: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"bot exited with {self.process.returncode}; see {self.log_path}")
            try:
                status = json.loads(self.health_path.read_text())
                if status["last_sync"] >= started and status.get("ready"):
                    return
            except (FileNotFoundError, ValueError, KeyError):
                pass
            time.sleep(0.1)  # polling the health file for a condition, not a fixed wait
        raise TimeoutError(f"bot was not ready (joined and synced) within {timeout} s; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self.process = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

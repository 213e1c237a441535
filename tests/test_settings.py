"""Settings are checked once, at start: a bad value is a one-line error that names the
variable (exit code 2), never a traceback, in every component."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import BotSettings
from common.env import ConfigError
from portal.config import PortalSettings
from stack.settings import REPO_ROOT, StackSettings

BAD_VALUES = [
    ("SIGNUP_MODE", "invite-only"),
    ("ADMIN_USERS", "alice, @mallory:elsewhere.example"),
    ("PORTAL_INVITE_TRIES", "lots"),
    ("OLLAMA_TIMEOUT", "nan"),
    ("OLLAMA_TIMEOUT", "inf"),
    ("OLLAMA_TIMEOUT", "-1"),
    ("STREAM_EDIT_INTERVAL", "1e400"),
    ("SYNAPSE_PORT", "70000"),
    ("SYNAPSE_PORT", "0"),
    ("PORTAL_PORT", "8o8o"),
    ("USER_RATE_LIMIT", "fast"),
    ("PORTAL_LOGIN_RATE_PER_ACCOUNT", "5 per minute please"),
    ("PORTAL_SIGNUP_RATE", "/hour"),
    ("LOG_LEVEL", "LOUD"),
    ("SYNAPSE_LOG_LEVEL", "chatty"),
    ("HOMESERVER_URL", "http://synapse:99999"),
    ("OLLAMA_BASE_URL", "ftp://ollama"),
    ("HEALTH_CHECK_TIMEOUT", "NaN"),
    ("PORTAL_TRUSTED_PROXIES", "10.0.0.0/33"),
    ("DATABASE_URL", "postgresql://app:change-me@postgres:5432/app"),
    ("MAX_UPLOAD_MB", "-5"),
]
COMPONENTS: dict[str, Callable[[dict[str, str]], Any]] = {
    "bot": BotSettings.from_env,
    "portal": PortalSettings.from_env,
    "stack": StackSettings.from_env,
}
# Which component reads which variable (the shared ones are read by all three).
READERS = {
    "OLLAMA_TIMEOUT": ["bot"],
    "STREAM_EDIT_INTERVAL": ["bot"],
    "USER_RATE_LIMIT": ["bot"],
    "PORTAL_LOGIN_RATE_PER_ACCOUNT": ["portal"],
    "PORTAL_SIGNUP_RATE": ["portal"],
    "PORTAL_INVITE_TRIES": ["portal"],
    "PORTAL_PORT": ["portal", "stack"],
    "SYNAPSE_LOG_LEVEL": ["stack"],
    "HEALTH_CHECK_TIMEOUT": ["portal"],
    "PORTAL_TRUSTED_PROXIES": ["portal"],
    "DATABASE_URL": ["bot", "portal"],
    "MAX_UPLOAD_MB": ["portal", "stack"],
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATA_DIR": str(tmp_path), "BOT_PASSWORD": "x" * 20, **extra}


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_value_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    for component in READERS.get(name, list(COMPONENTS)):
        with pytest.raises(ConfigError) as refused:
            COMPONENTS[component](_env(tmp_path, **{name: value}))
        message = str(refused.value)
        assert name in message and "\n" not in message, (component, message)


def test_the_defaults_are_valid(tmp_path: Path) -> None:
    for read in COMPONENTS.values():
        read(_env(tmp_path))


@pytest.mark.parametrize("module", ["bot", "portal", "stack"])
def test_each_process_exits_with_one_line_naming_the_variable(tmp_path: Path, module: str) -> None:
    args = [sys.executable, "-m", module] + (["render"] if module == "stack" else [])
    env = {**os.environ, **_env(tmp_path), "LOG_LEVEL": "LOUD"}
    result = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "LOG_LEVEL" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

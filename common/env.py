"""Reading typed settings from the environment (and an optional `.env` file).

Each component builds its own frozen settings dataclass with these helpers, once, at
start-up. Every value is checked here (whole numbers and ranges, finite numbers, ports,
URLs, rates, log levels); a bad one raises `ConfigError` with a one-line explanation
that names the variable, and the component exits with it instead of a traceback.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values
from limits import parse

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def load_environ(env_file: str | os.PathLike[str] = ".env") -> dict[str, str]:
    """The process environment, with `.env` values filling the gaps."""
    values: dict[str, str] = {}
    if Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


T = TypeVar("T")


def settings_or_exit(read: Callable[[Mapping[str, str]], T]) -> tuple[dict[str, str], T]:
    """The environment, and the settings `read` from it; on a bad value, one line on
    stderr and exit code 2 (never a traceback)."""
    env = load_environ()
    try:
        return env, read(env)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def get_str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def get_int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def get_port(env: Mapping[str, str], name: str, default: int) -> int:
    return get_int(env, name, default, minimum=1, maximum=65535)


def get_float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:g}, got {value:g}")
    return value


def get_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def get_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = get_str(env, name, default).rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise ConfigError(f"{name} must be an http(s) URL with a valid port, got {value!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    del port
    return value


def get_urls(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """One http(s) URL or several, separated by commas (each checked like `get_url`)."""
    raw = get_str(env, name, default)
    urls = tuple(get_url({name: part}, name, "") for part in raw.split(",") if part.strip())
    if not urls:
        raise ConfigError(f"{name} must name at least one http(s) URL")
    if len(set(urls)) < len(urls):
        raise ConfigError(f"{name} names the same server twice")
    return urls


def get_rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate like `20/minute` (the `limits` library's notation)."""
    value = get_str(env, name, default)
    try:
        parse(value)
    except ValueError:
        raise ConfigError(f"{name} must look like '20/minute', got {value!r}") from None
    return value


def get_log_level(env: Mapping[str, str], name: str, default: str) -> str:
    level = get_str(env, name, default).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def get_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = get_str(env, name, default).lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value

"""Logging, configured once per process: one line per event, level from LOG_LEVEL, and
JSON lines (LOG_FORMAT=json, as the compose stack sets) for log collectors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LIBRARIES = ("nio", "httpx", "httpcore", "aiosqlite", "peewee", "MARKDOWN", "alembic")


def configure(env: Mapping[str, str], level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if env.get("LOG_FORMAT", "text").strip().lower() == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"}
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))

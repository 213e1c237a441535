"""The assistant's policy (`common.assistant_policy`) in the app database, one JSON value
per key. The portal writes it; the bot reads it through a short cache, so a change
reaches it within `CACHE_S`. A value that cannot be read counts as the default (and is
logged), so a bad row never stops the assistant."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from appdb.models import PlatformSetting
from common.assistant_policy import ACCESS_MODES, AssistantAccess, Policy, Quota

log = logging.getLogger(__name__)

CACHE_S = 5.0
ACCESS, QUOTA, MODELS = "assistant_access", "quota", "allowed_models"


def _limit(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None


def _names(raw: Any) -> frozenset[str]:
    return frozenset(x for x in raw if isinstance(x, str)) if isinstance(raw, list) else frozenset()


def _mapping(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _policy(values: dict[str, Any]) -> Policy:
    access_raw, quota_raw = _mapping(values.get(ACCESS)), _mapping(values.get(QUOTA))
    mode = access_raw.get("mode") if access_raw.get("mode") in ACCESS_MODES else "everyone"
    models = values.get(MODELS)
    return Policy(
        AssistantAccess(str(mode), _names(access_raw.get("people")), _names(access_raw.get("rooms"))),
        Quota(_limit(quota_raw.get("answers_per_day")), _limit(quota_raw.get("tokens_per_day"))),
        _names(models) if isinstance(models, list) else None,
    )


class PolicyStore:
    def __init__(self, engine: AsyncEngine, cache_s: float = CACHE_S) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._cache_s = cache_s
        self._cached = Policy()
        self._read_at = float("-inf")

    async def current(self) -> Policy:
        if time.monotonic() - self._read_at > self._cache_s:
            self._cached = await self.read()
            self._read_at = time.monotonic()
        return self._cached

    async def allowed_models(self) -> frozenset[str] | None:
        return (await self.current()).allowed_models

    async def read(self) -> Policy:
        async with self._sessions() as session:
            rows = await session.execute(PlatformSetting.__table__.select())
            values: dict[str, Any] = {}
            for row in rows:
                try:
                    values[row.key] = json.loads(row.value)
                except ValueError:
                    log.warning("the platform setting %s is not JSON; its default applies", row.key)
        return _policy(values)

    async def _write(self, key: str, value: Any) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(PlatformSetting, key)
            text = json.dumps(value, sort_keys=True)
            if row is None:
                session.add(PlatformSetting(key=key, value=text))
            else:
                row.value = text
        self._read_at = float("-inf")

    async def set_access(self, access: AssistantAccess) -> None:
        value = {"mode": access.mode, "people": sorted(access.people), "rooms": sorted(access.rooms)}
        await self._write(ACCESS, value)

    async def set_quota(self, quota: Quota) -> None:
        value = {"answers_per_day": quota.answers_per_day, "tokens_per_day": quota.tokens_per_day}
        await self._write(QUOTA, value)

    async def set_allowed_models(self, models: frozenset[str] | None) -> None:
        await self._write(MODELS, sorted(models) if models is not None else None)

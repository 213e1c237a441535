"""The usage page benchmark (issue 15): the admin area's usage page, through the running
portal, once 100 people have had 100,000 answers in 10 rooms with 3 models over 30 days;
against the admin area's audit page in the same run (the same login, template and
middlewares, one small query) as the baseline. The answers are counted with the bot's own
`UsageStore.count`, in batches of 1,000 per transaction."""

from __future__ import annotations

import asyncio
import random
import re
import time
from datetime import timedelta

import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker

from appdb.engine import create_schema, make_engine
from appdb.usage import Spent, UsageStore, today
from bench.measure import Distribution
from bench.report import machine, write_section
from bench.stack import BENCH_OVERLAY, portal_stack

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench passphrase 42"
PEOPLE, ANSWERS, ROOMS, MODELS, DAYS = (
    100,
    100_000,
    10,
    ("llama3:latest", "llava:latest", "mistral:latest"),
    30,
)
BATCH = 1_000
ROUNDS = 30
TARGET_MS = 100.0


async def _fill(database_url: str) -> float:
    engine = make_engine(database_url)
    await create_schema(engine)
    usage, sessions = UsageStore(engine), async_sessionmaker(engine)
    chance = random.Random(15)
    started = time.perf_counter()
    for _ in range(ANSWERS // BATCH):
        async with sessions.begin() as session:
            for _ in range(BATCH):
                count = usage.count(
                    f"@person{chance.randrange(PEOPLE)}:localhost",
                    f"!room{chance.randrange(ROOMS)}:localhost",
                    chance.choice(MODELS),
                    Spent(chance.randrange(20, 2000), chance.randrange(10, 800), chance.randrange(200, 9000)),
                    today() - timedelta(days=chance.randrange(DAYS)),
                )
                await count(session)
    await engine.dispose()
    return time.perf_counter() - started


async def _timed(browser: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with browser.get(url) as response:
        await response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


async def _measure(portal_url: str, database_url: str, admin: str) -> dict[str, object]:
    fill_s = await _fill(database_url)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        html = await (await browser.get(f"{portal_url}/signup")).text()
        token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
        form = {"username": admin, "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
        async with browser.post(
            f"{portal_url}/signup", data=form, headers={"Origin": portal_url}, allow_redirects=False
        ) as response:
            assert response.status == 303, await response.text()
        page = await (await browser.get(f"{portal_url}/admin/usage")).text()
        assert "@person0:localhost" in page, "the usage page does not show the people"
        usage, audit = [], []
        for _ in range(ROUNDS):  # alternated, so both see the same noise
            usage.append(await _timed(browser, f"{portal_url}/admin/usage?days=30"))
            audit.append(await _timed(browser, f"{portal_url}/admin/audit"))
    return {"fill_s": fill_s, "usage": Distribution(usage), "audit": Distribution(audit)}


def run() -> str:
    admin = "usageadmin"
    with portal_stack("bench-usage-", BENCH_OVERLAY, ADMIN_USERS=admin) as stack:
        database_url = f"sqlite+aiosqlite:///{stack.data_dir / 'app.db'}"
        figures = asyncio.run(_measure(stack.url, database_url, admin))
    usage, audit = figures["usage"], figures["audit"]
    assert isinstance(usage, Distribution) and isinstance(audit, Distribution)
    verdict = "met" if usage.median_ms < TARGET_MS else "**missed**"
    body = "\n".join(
        [
            f"Machine: {machine()}. `python -m bench usage`: {PEOPLE} people, {ANSWERS:,} answers in "
            f"{len(MODELS)} models, {ROOMS} rooms and {DAYS} days, counted with the bot's own "
            f"`UsageStore.count` (filled in {figures['fill_s']:.1f} s); the app database on SQLite, as `make run` has it.",
            "",
            "| page, through the running portal, logged in as an admin | p50 | p90 |",
            "|---|---|---|",
            f"| `/admin/usage?days=30` (person, room, model and day tables and the chart) | {usage.median_ms:.1f} ms | {usage.p90_ms:.1f} ms |",
            f"| baseline: `/admin/audit` (same login and template, one small query) | {audit.median_ms:.1f} ms | {audit.p90_ms:.1f} ms |",
            "",
            f"- Target p50 < {TARGET_MS:.0f} ms: {usage.median_ms:.1f} ms, {verdict}; "
            f"{usage.median_ms / audit.median_ms:.2f}× the audit page in the same run.",
            "- Why it stays small: answers are counted into one row per person, room, model and day, "
            "so the page reads at most people × rooms × models × days rows "
            f"(here ≤ {PEOPLE * ROOMS * len(MODELS) * DAYS:,}), never the answers themselves.",
        ]
    )
    write_section("Usage page (issue 15)", body)
    return body

"""The portal chat benchmark (issue 7): how long a message sent from a Matrix client takes
to reach a browser through the portal's sync relay, against a Matrix client syncing the
same homeserver, both waiting for the very same message; and what open chat tabs cost
the portal in memory."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import aiohttp

from bench.measure import Distribution, rss_mb
from bench.report import machine, write_section
from bench.stack import BENCH_OVERLAY, portal_stack
from tests.matrix_user import MatrixUser
from tests.portal_client import ChatStream
from tests.synapse_server import SynapseServer

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench passphrase 42"


async def _browser(portal_url: str) -> aiohttp.ClientSession:
    """A signed-up, logged-in browser (its own cookie jar)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    html = await (await session.get(f"{portal_url}/signup")).text()
    token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
    name = f"tab{uuid.uuid4().hex[:8]}"
    async with session.post(
        f"{portal_url}/signup",
        data={"username": name, "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token},
        headers={"Origin": portal_url},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
    return session


async def _open_stream(session: aiohttp.ClientSession, portal_url: str) -> ChatStream:
    response = await session.get(f"{portal_url}/chat/api/stream", timeout=aiohttp.ClientTimeout(total=None))
    assert response.status == 200, response.status
    stream = ChatStream(response)
    await stream.wait_for("rooms")
    return stream


async def _matrix_sees(watcher: MatrixUser, room_id: str, body: str) -> float:
    while True:
        response = await watcher.sync(timeout_ms=10_000)
        room = response.rooms.join.get(room_id)
        if room and any(
            event.source.get("content", {}).get("body") == body for event in room.timeline.events
        ):
            return time.perf_counter()


async def _browser_sees(stream: ChatStream, room_id: str, body: str) -> float:
    await stream.wait_for("sync", lambda d: any(e.get("body") == body for e in d["events"].get(room_id, ())))
    return time.perf_counter()


async def _measure(synapse: SynapseServer, portal_url: str, portal_pid: int, rounds: int, idle_tabs: int):  # type: ignore[no-untyped-def]
    alias = f"#public:{synapse.server_name}"
    sender = await MatrixUser.register(synapse, "sender")
    watcher = await MatrixUser.register(synapse, "watcher")
    room_id = await sender.join(alias)
    await watcher.join(alias)
    reader = await _browser(portal_url)
    stream = await _open_stream(reader, portal_url)
    matrix_ms, browser_ms = [], []
    for i in range(rounds + 3):
        body = f"round {i} {uuid.uuid4().hex[:6]}"
        await watcher.sync()
        matrix = asyncio.create_task(_matrix_sees(watcher, room_id, body))
        browser = asyncio.create_task(_browser_sees(stream, room_id, body))
        await asyncio.sleep(0.05)  # both long-polls are waiting at Synapse before the send
        started = time.perf_counter()
        await sender.send(room_id, body)
        matrix_at, browser_at = await asyncio.gather(matrix, browser)
        if i >= 3:
            matrix_ms.append(matrix_at - started)
            browser_ms.append(browser_at - started)
    rss_one = rss_mb(portal_pid)
    sessions = [await _browser(portal_url) for _ in range(idle_tabs)]
    streams = [await _open_stream(session, portal_url) for session in sessions]
    rss_many = rss_mb(portal_pid)
    for open_stream in [stream, *streams]:
        open_stream.close()
    for session in [reader, *sessions]:
        await session.close()
    await sender.close()
    await watcher.close()
    return Distribution(matrix_ms), Distribution(browser_ms), rss_one, rss_many


def run(rounds: int = 40, idle_tabs: int = 50) -> str:
    with portal_stack(
        "bench-chat-", BENCH_OVERLAY, PORTAL_SIGNUP_RATE="10000/hour", LOG_LEVEL="WARNING"
    ) as stack:
        matrix, browser, rss_one, rss_many = asyncio.run(
            _measure(stack.synapse, stack.url, stack.process.pid, rounds, idle_tabs)
        )
    body = f"""
## Portal chat (issue 7)

Machine: {machine()}.

A message sent by one Matrix user into `#public`, waited for at the same time by another
Matrix client's long-poll sync (the baseline) and by a browser's chat stream through the
portal ({rounds} rounds after 3 warm-up rounds; the same message for both):

| measure | median | p90 |
|---|---|---|
| baseline: a Matrix client's `/sync` sees it | {matrix.median_ms:.1f} ms | {matrix.p90_ms:.1f} ms |
| the portal chat stream (`/chat/api/stream`) delivers it | {browser.median_ms:.1f} ms | {browser.p90_ms:.1f} ms |

- Ratio portal/baseline: {browser.median_ms / matrix.median_ms:.2f}× at the median, \
{browser.p90_ms / matrix.p90_ms:.2f}× at p90 ({browser.median_ms - matrix.median_ms:+.1f} ms at the median). \
The relay is a sync of its own plus one hop; it forwards small JSON where a Matrix client \
library parses and stores the whole response, so the two come out about even.
- Open chat tabs: portal RSS {rss_one:.0f} MB with one stream open, {rss_many:.0f} MB with \
{idle_tabs + 1} (different people, each with a long poll at Synapse): \
{(rss_many - rss_one) / idle_tabs * 1024:.0f} KB per open tab.
"""
    write_section("chat", body)
    return body


def main() -> None:
    print(run())


if __name__ == "__main__":
    main()

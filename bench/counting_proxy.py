"""A reverse proxy that forwards every request unchanged to its target and records each
one (its kind, and when it came, was answered and was done), so a benchmark can count a
client's homeserver writes by kind and see when the client made them.

Put in front of Synapse (the bot's `HOMESERVER_URL`) it counts the bot's writes; put in
front of the Ollama double it shows when the bot asked the model and when the first words
came back. It serves on a thread of its own, so it works for any process that calls it;
each call costs about a millisecond more than going straight to the target.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.ollama_double import free_port

WRITE_KINDS = ("message", "edit", "typing on", "typing off", "receipt", "other write")
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
_SEND = re.compile(r"/rooms/[^/]+/send/([^/]+)/[^/]+$")
_TYPING = re.compile(r"/rooms/[^/]+/typing/[^/]+$")
_RECEIPT = re.compile(r"/rooms/[^/]+/(receipt/.+|read_markers)$")


def classify(method: str, path: str, body: bytes) -> str:
    """What a client request to a homeserver is: one of WRITE_KINDS, "sync" or "read"."""
    if method in {"GET", "HEAD", "OPTIONS"}:
        return "sync" if path.endswith("/sync") else "read"
    send = _SEND.search(path)
    if send and method == "PUT":
        if send.group(1) != "m.room.message":
            return "other write"
        relates = _json(body).get("m.relates_to") or {}
        return "edit" if isinstance(relates, dict) and relates.get("rel_type") == "m.replace" else "message"
    if _TYPING.search(path) and method == "PUT":
        return "typing on" if _json(body).get("typing") else "typing off"
    if _RECEIPT.search(path) and method == "POST":
        return "receipt"
    return "other write"


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Call:
    """One forwarded request; times are `time.perf_counter()` in this process."""

    method: str
    path: str
    kind: str
    started: float  # the request reached the proxy
    first_byte: float  # the first bytes of the target's answer came back
    finished: float  # the whole answer was passed on

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


def count_writes(calls: list[Call]) -> Counter[str]:
    return Counter(call.kind for call in calls if call.is_write)


class CountingProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")  # may be changed between scenarios
        self.port = free_port()
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, since: float = float("-inf")) -> list[Call]:
        """The calls that reached the proxy at or after `since`, in arrival order."""
        with self._lock:
            return [call for call in self._calls if call.started >= since]

    def start(self) -> CountingProxy:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True, name="counting-proxy")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("counting proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # Long polls still open when it stops are cut, not waited for.
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        loop.run_until_complete(self._open())
        ready.set()
        loop.run_forever()
        loop.close()

    async def _open(self) -> None:
        assert self._runner is not None
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _close(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        body = await request.read()
        try:
            return await self._relay(request, body, started)
        except aiohttp.ClientError as error:  # the target is down: say so, as a gateway does
            return web.json_response({"errcode": "M_UNKNOWN", "error": str(error)}, status=502)

    async def _relay(self, request: web.Request, body: bytes, started: float) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method, f"{self.target}{request.path_qs}", data=body, headers=headers
        ) as upstream:
            first_byte = time.perf_counter()
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            await response.prepare(request)
            first = True
            async for chunk in upstream.content.iter_any():
                if first:
                    first_byte, first = time.perf_counter(), False
                await response.write(chunk)
            call = Call(
                request.method,
                request.path,
                classify(request.method, request.path, body),
                started,
                first_byte,
                time.perf_counter(),
            )
            with self._lock:  # recorded before the caller can see the end of the response
                self._calls.append(call)
            await response.write_eof()
        return response

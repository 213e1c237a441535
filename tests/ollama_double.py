"""A protocol double of Ollama's REST API: a real aiohttp server on a free port.

It speaks `/api/version`, `/api/tags`, `/api/show` and `/api/chat` (NDJSON streaming and
plain JSON), so the product's real `ChatOllama` HTTP path runs against it. Tests script
the replies, add latency, inject errors and read back every chat request. It runs on a
thread of its own so it serves whatever process (bot subprocess or test) calls it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web


@dataclass
class FakeModel:
    name: str
    vision: bool = False
    size: int = 4_661_224_676
    family: str = "llama"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo_reply(request: dict[str, Any]) -> str:
    """Default answer: repeat the last user message, so tests can tell answers apart."""
    last = next((m for m in reversed(request.get("messages", [])) if m.get("role") == "user"), {})
    return f"You said: {last.get('content', '')}"


@dataclass
class OllamaDouble:
    models: list[FakeModel] = field(default_factory=lambda: [FakeModel("llama3:latest")])
    reply: Callable[[dict[str, Any]], str] = echo_reply
    scripted: deque[str] = field(default_factory=deque)
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_words: int = 1
    error_status: int | None = None
    fail_after_chunks: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OllamaDouble:
        self.port = self.port or free_port()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True, name="ollama-double")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("Ollama double did not start")
        return self

    def stop(self) -> None:
        """Stop serving; `start()` again brings it back on the same port."""
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)
        self._loop = self._runner = self._thread = None

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._runner = web.AppRunner(self._app(), handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        loop.run_until_complete(site.start())
        ready.set()
        loop.run_forever()
        loop.close()

    # --- what tests read ---------------------------------------------------------------

    def chat_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.scripted.clear()
        self.error_status = None
        self.fail_after_chunks = None
        self.first_chunk_delay = self.chunk_delay = 0.0
        self.reply = echo_reply

    # --- the API -----------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)
        return app

    def _find(self, name: str) -> FakeModel | None:
        wanted = name if ":" in name else f"{name}:latest"
        return next((m for m in self.models if m.name == wanted), None)

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "0.12.6"})

    async def _tags(self, request: web.Request) -> web.Response:
        models = [
            {
                "name": m.name,
                "model": m.name,
                "modified_at": _now(),
                "size": m.size,
                "digest": f"sha256:{abs(hash(m.name)):064x}"[:71],
                "details": {
                    "format": "gguf",
                    "family": m.family,
                    "families": [m.family],
                    "parameter_size": "8.0B",
                    "quantization_level": "Q4_0",
                },
            }
            for m in self.models
        ]
        return web.json_response({"models": models})

    async def _show(self, request: web.Request) -> web.Response:
        body = await request.json()
        model = self._find(str(body.get("model") or body.get("name") or ""))
        if model is None:
            return web.json_response({"error": f"model '{body.get('model')}' not found"}, status=404)
        capabilities = ["completion", "vision"] if model.vision else ["completion"]
        return web.json_response(
            {
                "modelfile": f"FROM {model.name}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": model.family, "parameter_size": "8.0B"},
                "model_info": {"general.architecture": model.family},
                "capabilities": capabilities,
                "modified_at": _now(),
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
        if self.error_status is not None:
            return web.json_response({"error": "injected failure"}, status=self.error_status)
        name = str(body.get("model", ""))
        if self._find(name) is None:
            return web.json_response({"error": f'model "{name}" not found, try pulling it first'}, status=404)
        text = self.scripted.popleft() if self.scripted else self.reply(body)
        if body.get("stream", True) is False:
            await asyncio.sleep(self.first_chunk_delay)
            return web.json_response(self._chunk(name, text, done=True))
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await asyncio.sleep(self.first_chunk_delay)
        words = text.split(" ")
        for index in range(0, len(words), self.chunk_words):
            piece = " ".join(words[index : index + self.chunk_words])
            if index + self.chunk_words < len(words):
                piece += " "
            if index:
                await asyncio.sleep(self.chunk_delay)
            if self.fail_after_chunks is not None and index // self.chunk_words >= self.fail_after_chunks:
                assert request.transport is not None
                request.transport.close()  # the model server dies mid-answer
                return response
            await response.write((json.dumps(self._chunk(name, piece, done=False)) + "\n").encode())
        await response.write((json.dumps(self._chunk(name, "", done=True)) + "\n").encode())
        await response.write_eof()
        return response

    @staticmethod
    def _chunk(model: str, content: str, *, done: bool) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done": done,
        }
        if done:
            chunk.update(
                done_reason="stop",
                total_duration=1_000_000,
                load_duration=1_000,
                prompt_eval_count=10,
                prompt_eval_duration=1_000,
                eval_count=max(1, len(content.split())),
                eval_duration=1_000,
            )
        return chunk


def main() -> None:
    """Serve the double in a process of its own (the benchmark uses this so its own
    clients never compete with the model's timing): fixed reply and delays."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--reply", default="")
    parser.add_argument("--first-chunk-delay", type=float, default=0.0)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args()
    double = OllamaDouble(
        port=args.port, first_chunk_delay=args.first_chunk_delay, chunk_delay=args.chunk_delay
    )
    if args.reply:
        fixed = args.reply
        double.reply = lambda request: fixed
    double.start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

"""A protocol double of Ollama's REST API: a real aiohttp server on a free port.

It speaks `/api/version`, `/api/tags`, `/api/show`, `/api/chat` (NDJSON streaming and
plain JSON), `/api/generate` (as a warm-up: an empty prompt loads the model),
`/api/ps` (the models in memory) and `/api/embed`, so the product's real `ChatOllama` HTTP path runs against
it. Tests script the replies, add latency, read back every chat request, and switch on
the failures a real Ollama has (each undone by `reset()`):

- `error_status` / `error_message`: the chat request is refused with `{"error": ...}`;
- `fail_after_chunks`: the connection drops mid-answer (the server died);
- `error_after_chunks` / `stream_error`: an `{"error": ...}` line mid-stream, after a 200;
- `done_reason`: `"length"` says the answer stopped at the model's length limit;
- `chunk_chars`: sub-word tokens, so pieces split words as a real tokenizer does;
- `first_chunk_delay`: a first token later than the client's timeout;
- `load_delay`: a cold model, loaded into memory by its first chat or generate request;
- a `FakeModel(..., embedding_only=True)`: listed and embeds, but refuses to chat.

`parallel` caps the chat requests it serves at once, as Ollama's `OLLAMA_NUM_PARALLEL`
does: the requests beyond it wait inside the double, in the order they came.

It runs on a thread of its own so it serves whatever process (bot subprocess or test)
calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

EMBEDDING_DIMENSIONS = 768
KEPT_ON_RESET = {"models", "scripted", "requests", "generates", "port"}  # emptied or kept, not defaulted


@dataclass
class FakeModel:
    name: str
    vision: bool = False
    embedding_only: bool = False  # like `nomic-embed-text`: embeds, cannot chat
    size: int = 4_661_224_676
    family: str = "llama"

    @property
    def capabilities(self) -> list[str]:
        """What `/api/show` says the model can do."""
        if self.embedding_only:
            return ["embedding"]
        return ["completion", "vision"] if self.vision else ["completion"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo_reply(request: dict[str, Any]) -> str:
    """Default answer: repeat the last user message, so tests can tell answers apart. In a
    group room the bot sends the room's recent messages and "<name> asks: <question>":
    only the question is repeated (tests of the room context read the request itself)."""
    last: dict[str, Any] = next(
        (m for m in reversed(request.get("messages", [])) if m.get("role") == "user"), {}
    )
    content = last.get("content", "")
    return f"You said: {asked_question(content) if isinstance(content, str) else content}"


def asked_question(content: str) -> str:
    """The person's own words in a user message: in a group room the bot sends the room's
    recent messages and "<name> asks: <question>"; elsewhere the message is the question."""
    content = content.split("</room>\n\n", 1)[-1]
    return re.sub(r"^[^\n]*? asks: ", "", content, count=1)


def split_words(text: str, per_piece: int) -> list[str]:
    """Whole words, `per_piece` to a piece; every piece but the last keeps its space."""
    words = text.split(" ")
    groups = [" ".join(words[i : i + per_piece]) for i in range(0, len(words), per_piece)]
    return [group + " " for group in groups[:-1]] + groups[-1:]


def split_chars(text: str, per_piece: int) -> list[str]:
    """Sub-word tokens: `per_piece` characters to a piece, wherever words fall."""
    return [text[i : i + per_piece] for i in range(0, len(text), per_piece)]


# Words too common to say what a text is about (a real embedding model gives them little weight).
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


def embed_text(text: str) -> list[float]:
    """A deterministic stand-in for an embedding: a hashed bag of words (common words left
    out), L2-normalised (as Ollama normalises), so texts that share words get close vectors."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        if word in STOP_WORDS:
            continue
        slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % EMBEDDING_DIMENSIONS
        vector[slot] += 1.0
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector] if norm else vector


@dataclass
class OllamaDouble:
    models: list[FakeModel] = field(default_factory=lambda: [FakeModel("llama3:latest")])
    reply: Callable[[dict[str, Any]], str] = echo_reply
    scripted: deque[str] = field(default_factory=deque)
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_words: int = 1
    chunk_chars: int | None = None
    done_reason: str = "stop"
    error_status: int | None = None
    error_message: str = "injected failure"
    fail_after_chunks: int | None = None
    error_after_chunks: int | None = None
    stream_error: str = "an error was encountered while running the model: unexpected EOF"
    requests: list[dict[str, Any]] = field(default_factory=list)
    generates: list[dict[str, Any]] = field(default_factory=list)
    load_delay: float = 0.0
    loaded: set[str] = field(default_factory=set)  # what `/api/ps` lists
    most_at_once: int = 0  # the most chat requests in progress at the same moment
    parallel: int | None = None  # chat requests served at once; the rest wait (FIFO)
    embed_delay: float = 0.0  # seconds each `/api/embed` call takes
    embed_texts: int = 0  # texts embedded since the last reset
    port: int = 0

    def __post_init__(self) -> None:
        self._initial_models = list(self.models)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_progress = 0
        self._serving = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

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

    def generate_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.generates)

    def reset(self) -> None:
        """Back to the models it started with, and every switch (reply, delays, failures)
        back to its declared default."""
        with self._lock:
            self.requests.clear()
            self.generates.clear()
        self.models[:] = self._initial_models
        self.scripted.clear()
        for switch in fields(self):
            if switch.name not in KEPT_ON_RESET:
                factory = switch.default_factory
                setattr(self, switch.name, switch.default if factory is MISSING else factory())

    # --- the API -----------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/embed", self._embed)
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
        return web.json_response(
            {
                "modelfile": f"FROM {model.name}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": {"format": "gguf", "family": model.family, "parameter_size": "8.0B"},
                "model_info": {"general.architecture": model.family},
                "capabilities": model.capabilities,
                "modified_at": _now(),
            }
        )

    async def _load(self, name: str) -> None:
        """A model not in memory takes `load_delay` to load (requests meanwhile wait too)."""
        wanted = name if ":" in name else f"{name}:latest"
        if wanted not in self.loaded:
            await asyncio.sleep(self.load_delay)
            self.loaded.add(wanted)

    async def _generate(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.generates.append(body)
        name = str(body.get("model", ""))
        if self._find(name) is None:
            return _error(f'model "{name}" not found, try pulling it first', 404)
        await self._load(name)
        if body.get("prompt"):
            return _error("the double answers generate only as a warm-up (empty prompt)", 400)
        return web.json_response(
            {"model": name, "created_at": _now(), "response": "", "done": True, "done_reason": "load"}
        )

    async def _ps(self, request: web.Request) -> web.Response:
        running = [
            {
                "name": m.name,
                "model": m.name,
                "size": m.size,
                "digest": "sha256:" + "0" * 64,
                "details": {"format": "gguf", "family": m.family},
                "expires_at": _now(),
                "size_vram": m.size,
            }
            for m in self.models
            if m.name in self.loaded
        ]
        return web.json_response({"models": running})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self._in_progress += 1  # one event loop: no lock needed for the counter
        self.most_at_once = max(self.most_at_once, self._in_progress)
        try:
            async with self._serving_slot():
                return await self._chat_answer(request)
        finally:
            self._in_progress -= 1

    @contextlib.asynccontextmanager
    async def _serving_slot(self) -> AsyncIterator[None]:
        """One of the `parallel` slots; beyond them, wait for a slot in arrival order."""
        if self.parallel is None:
            yield
            return
        ticket = asyncio.get_running_loop().create_future()
        self._waiting.append(ticket)
        self._hand_out_slots()
        try:
            await ticket
        except asyncio.CancelledError:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            elif not ticket.cancelled():  # given a slot just as the client went away
                self._serving -= 1
                self._hand_out_slots()
            raise
        try:
            yield
        finally:
            self._serving -= 1
            self._hand_out_slots()

    def _hand_out_slots(self) -> None:
        while self._waiting and (self.parallel is None or self._serving < self.parallel):
            ticket = self._waiting.popleft()
            if ticket.done():  # its client went away while it waited
                continue
            self._serving += 1
            ticket.set_result(None)

    async def _chat_answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
        name = str(body.get("model", ""))
        refusal = self._chat_refusal(name)
        if refusal is not None:
            return refusal
        text = self.scripted.popleft() if self.scripted else self.reply(body)
        await self._load(name)
        if body.get("stream", True) is False:
            await asyncio.sleep(self.first_chunk_delay)
            if self.error_after_chunks is not None:
                return _error(self.stream_error, 500)  # what Ollama says when not streaming
            return web.json_response(_chat_chunk(name, text, done_reason=self.done_reason))
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        await asyncio.sleep(self.first_chunk_delay)
        with contextlib.suppress(ConnectionResetError):  # the client gave up waiting
            await self._stream_answer(request, response, name, text)
        return response

    def _chat_refusal(self, name: str) -> web.Response | None:
        """The error Ollama answers instead of a chat, if any."""
        if self.error_status is not None:
            return _error(self.error_message, self.error_status)
        model = self._find(name)
        if model is None:
            return _error(f'model "{name}" not found, try pulling it first', 404)
        if "completion" not in model.capabilities:
            return _error(f"{json.dumps(name)} does not support chat", 400)  # Go's %q
        return None

    async def _stream_answer(
        self, request: web.Request, response: web.StreamResponse, name: str, text: str
    ) -> None:
        sent = 0
        for index, piece in enumerate(self._pieces(text)):
            if index:
                await asyncio.sleep(self.chunk_delay)
            if index == self.fail_after_chunks:
                assert request.transport is not None
                request.transport.close()  # the model server dies mid-answer
                return
            if index == self.error_after_chunks:
                break
            await _write_line(response, _chat_chunk(name, piece))
            sent += 1
        if self.error_after_chunks is not None:
            await _write_line(response, {"error": self.stream_error})  # the runner failed
        else:
            closing = _chat_chunk(name, "", done_reason=self.done_reason, tokens_out=sent)
            await _write_line(response, closing)
        await response.write_eof()

    def _pieces(self, text: str) -> list[str]:
        if self.chunk_chars:
            return split_chars(text, self.chunk_chars)
        return split_words(text, self.chunk_words)

    async def _embed(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = str(body.get("model", ""))
        if self._find(name) is None:
            return _error(f'model "{name}" not found, try pulling it first', 404)
        given = body.get("input") or []
        texts = [given] if isinstance(given, str) else given
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            return _error("invalid input type", 400)
        if self.embed_delay:
            await asyncio.sleep(self.embed_delay)
        self.embed_texts += len(texts)
        return web.json_response(
            {
                "model": name,
                "embeddings": [embed_text(text) for text in texts],
                "total_duration": 1_000_000,
                "load_duration": 1_000,
                "prompt_eval_count": sum(len(text.split()) for text in texts),
            }
        )


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _write_line(response: web.StreamResponse, line: dict[str, Any]) -> None:
    await response.write((json.dumps(line) + "\n").encode())


def _chat_chunk(
    model: str, content: str, *, done_reason: str | None = None, tokens_out: int | None = None
) -> dict[str, Any]:
    """One NDJSON line of a chat answer; the last one (`done_reason` set) has the stats,
    with `eval_count` the tokens of the whole answer (`tokens_out`), as Ollama counts them."""
    chunk: dict[str, Any] = {
        "model": model,
        "created_at": _now(),
        "message": {"role": "assistant", "content": content},
        "done": done_reason is not None,
    }
    if done_reason is not None:
        chunk.update(
            done_reason=done_reason,
            total_duration=1_000_000,
            load_duration=1_000,
            prompt_eval_count=10,
            prompt_eval_duration=1_000,
            eval_count=tokens_out if tokens_out is not None else max(1, len(content.split())),
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
    parser.add_argument("--parallel", type=int, default=None, help="requests served at once (FIFO beyond)")
    args = parser.parse_args()
    double = OllamaDouble(
        models=[FakeModel("llama3:latest"), FakeModel("nomic-embed-text:latest", embedding_only=True)],
        port=args.port,
        first_chunk_delay=args.first_chunk_delay,
        chunk_delay=args.chunk_delay,
        parallel=args.parallel,
    )
    if args.reply:
        fixed = args.reply
        double.reply = lambda request: fixed
    double.start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

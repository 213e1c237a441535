"""Embeddings from the model tier: texts to vectors with `EMBED_MODEL`, through
langchain-ollama's `OllamaEmbeddings` (Ollama's `/api/embed`). Each call waits for a
place in the fair queue like a question does, so reading a long file takes turns with
people's questions instead of holding a server."""

from __future__ import annotations

import logging

import httpx
from langchain_ollama import OllamaEmbeddings

from bot.fair_queue import FairQueue, Ticket
from common.ollama_catalogue import OllamaUnavailable, translate_error
from common.ollama_servers import OllamaServer, OllamaServers

log = logging.getLogger(__name__)


class Embedder:
    def __init__(self, queue: FairQueue, servers: OllamaServers, model: str, timeout_s: float) -> None:
        self._queue = queue
        self._servers = servers
        self.model = model
        self._timeout_s = timeout_s
        self._clients: dict[str, OllamaEmbeddings] = {}

    async def embed(self, texts: list[str], person: str, room_id: str) -> list[list[float]]:
        """One vector per text, in order. Raises the model tier's failures
        (`OllamaUnavailable` and its kinds: `ModelMissing` when no server has the model)."""
        if not texts:
            return []
        async with self._queue.slot(Ticket(person, self.model, room=room_id)) as server:
            try:
                vectors = await self._client(server).aembed_documents(texts)
            except (httpx.TransportError, ConnectionError) as error:
                self._servers.mark_down(server, str(error))
                self._queue.server_lost()
                raise OllamaUnavailable(f"{server.url}: {error}") from error
            except Exception as error:
                raise translate_error(error, self.model) from error
        if len(vectors) != len(texts) or len({len(vector) for vector in vectors}) > 1:
            raise OllamaUnavailable(f"{self.model} returned {len(vectors)} vectors for {len(texts)} texts")
        return [list(vector) for vector in vectors]

    def _client(self, server: OllamaServer) -> OllamaEmbeddings:
        if server.url not in self._clients:
            self._clients[server.url] = OllamaEmbeddings(
                model=self.model, base_url=server.url, client_kwargs={"timeout": self._timeout_s}
            )
        return self._clients[server.url]

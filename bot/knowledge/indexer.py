"""Read a file posted in a room into that room's knowledge: download it (decrypted in
encrypted rooms) within `KNOWLEDGE_MAX_MB`, extract its text in a limited worker process,
split it into chunks, embed them a batch at a time (each batch searchable at once) and
mark the file ready. A file that cannot be read gets its reason stored (for `!docs` and
the portal) and told in the room; nothing about one file stops another.

Jobs of one room run in order on their own line (`Job.conversation`), so a removal
after a file always finds it finished, and a long file never holds up questions."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from appdb.knowledge import KnowledgeStore, NewChunk, PostedFile
from appdb.models import KNOWLEDGE_FAILED
from bot import strings
from bot.formatting import defuse_mentions
from bot.knowledge.chunks import ChunkText, split_into_chunks
from bot.knowledge.embedder import Embedder
from bot.knowledge.extract import ExtractLimits, FileRefused, document_kind
from bot.knowledge.extract_worker import Extractor
from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaTooLarge
from bot.values import MediaRef, ReplyTarget
from common.ollama_catalogue import ModelMissing, OllamaUnavailable

log = logging.getLogger(__name__)

EMBED_BATCH = 32  # chunks per call to the embedding model


@dataclass(frozen=True)
class IndexSettings:
    max_bytes: int
    limits: ExtractLimits
    download_timeout_s: float = 120.0
    bot_localpart: str = "bot"


class Indexer:
    def __init__(
        self,
        settings: IndexSettings,
        store: KnowledgeStore,
        matrix: MatrixIO,
        extractor: Extractor,
        embedder: Embedder,
    ) -> None:
        self._settings = settings
        self._store = store
        self._matrix = matrix
        self._extractor = extractor
        self._embedder = embedder

    async def index(self, target: ReplyTarget, name: str, media: MediaRef, posted_ms: int) -> None:
        """Read the file of message `target.event_id`; files that are no document (an
        image sent as a file, a zip) are left alone, without a word."""
        kind = document_kind(name, media.mimetype)
        if kind is None:
            return
        posted = PostedFile(
            target.event_id, target.room_id, target.asker, name[:255], media.mimetype[:127], posted_ms
        )
        await self._store.add_file(posted)  # recorded before: a restart resumes it
        try:
            chunks, pages = await self._read(name, media)
            if not await self._store_chunks(target, chunks, pages):
                log.info("%s was removed while it was read; its chunks are dropped", target.event_id)
                return
        except _Refused as refused:
            await self._store.set_state(target.event_id, KNOWLEDGE_FAILED, refused.reason)
            refusal = strings.KNOWLEDGE_REFUSED.format(reason=defuse_mentions(refused.reason))
            await self._matrix.notice(target, refusal, "knowledge")
            return
        await self._store.finish(target.event_id)
        log.info("indexed %s in %s: %d pages, %d chunks", target.event_id, target.room_id, pages, len(chunks))
        ready = strings.KNOWLEDGE_READY.format(
            name=defuse_mentions(name),
            size=strings.document_size(kind, pages),
            chunks=len(chunks),
            bot=self._settings.bot_localpart,
        )
        await self._matrix.notice(target, ready, "knowledge")

    async def _read(self, name: str, media: MediaRef) -> tuple[list[ChunkText], int]:
        try:
            data = await self._matrix.download(
                media, self._settings.max_bytes, self._settings.download_timeout_s
            )
        except MediaTooLarge:
            mb = self._settings.max_bytes // (1024 * 1024)
            raise _Refused(strings.KNOWLEDGE_TOO_LARGE.format(name=name, mb=mb)) from None
        except MatrixActionFailed as error:
            if not error.permanent:
                raise  # the homeserver is away: the dispatcher tries again
            log.warning("%s", error)
            raise _Refused(strings.KNOWLEDGE_UNDOWNLOADABLE.format(name=name)) from None
        try:
            extracted = await self._extractor.extract(data, name, media.mimetype, self._settings.limits)
        except FileRefused as refused:
            raise _Refused(str(refused)) from None
        chunks = split_into_chunks(extracted.sections)
        if not chunks:
            raise _Refused(strings.KNOWLEDGE_NO_TEXT.format(name=name))
        return chunks, extracted.pages

    async def _store_chunks(self, target: ReplyTarget, chunks: list[ChunkText], pages: int) -> bool:
        if not await self._store.start_reading(target.event_id, pages):
            return False
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            try:
                vectors = await self._embedder.embed([c.text for c in batch], target.asker, target.room_id)
            except ModelMissing:
                model = self._embedder.model
                raise _Refused(
                    strings.KNOWLEDGE_EMBED_MISSING.format(model=model, short=model.removesuffix(":latest"))
                ) from None
            except OllamaUnavailable as error:
                log.warning("embedding %s failed: %s", target.event_id, error)
                raise _Refused(strings.KNOWLEDGE_EMBED_UNAVAILABLE) from None
            new = [NewChunk(c.location, c.text, v) for c, v in zip(batch, vectors, strict=True)]
            progress = min(99, (start + len(batch)) * 100 // len(chunks))
            if not await self._store.append_chunks(target.event_id, target.room_id, new, start, progress):
                return False
        return True

    async def forget(self, room_id: str, redacted_event_id: str) -> None:
        """A message was removed: if it was one of the room's files, forget its knowledge.
        Only when the homeserver shows the message removed (a redaction it did not apply,
        by someone without the right, changes nothing)."""
        if await self._store.file(redacted_event_id) is None:
            return
        source = await self._matrix.event(room_id, redacted_event_id)
        if source is not None and source.get("content"):
            log.warning(
                "a redaction of %s in %s was not applied; keeping the file", redacted_event_id, room_id
            )
            return
        if await self._store.remove(redacted_event_id, room_id=room_id):
            log.info("forgot the file %s in %s: its message was removed", redacted_event_id, room_id)


class _Refused(Exception):
    """The file cannot become knowledge: `reason` says why, in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

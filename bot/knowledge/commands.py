"""`!docs` (the files of a room's knowledge, with their state) and `!use #room` (in a
direct chat, answer from the files of a room the person is in)."""

from __future__ import annotations

from appdb.knowledge import FileState, KnowledgeStore, Source
from appdb.models import KNOWLEDGE_FAILED, KNOWLEDGE_INDEXING, KNOWLEDGE_QUEUED
from bot import strings
from bot.formatting import code_span, defuse_mentions
from bot.knowledge.extract import document_kind
from bot.matrix_io import MatrixIO
from common.matrix_ids import is_room_alias, is_room_id

THIS_ROOM = "this room"
OFF_WORDS = frozenset({"off", "none", "stop", "reset"})


class KnowledgeCommands:
    def __init__(self, store: KnowledgeStore, matrix: MatrixIO, server_name: str) -> None:
        self._store = store
        self._matrix = matrix
        self._server = server_name

    async def docs(self, user_id: str, room_id: str) -> str:
        room, name = room_id, THIS_ROOM
        files = await self._store.files(room_id)
        if not files and (source := await self._store.source(user_id, room_id)) is not None:
            room, name = source.room_id, source.name
            files = await self._store.files(room)
        if not files:
            return strings.DOCS_NONE.format(room=name.capitalize() if name == THIS_ROOM else name)
        lines = [strings.DOCS_HEADER.format(room=name)]
        lines += [_line(f) for f in files]
        return "\n".join(lines)

    async def use(self, user_id: str, room_id: str, argument: str) -> str:
        if not self._matrix.is_direct(room_id):
            return strings.USE_ONLY_DIRECT
        wanted = argument.strip()
        if not wanted:
            current = await self._store.source(user_id, room_id)
            now = strings.USE_CURRENT.format(room=current.name) if current else strings.USE_NONE
            return strings.USE_USAGE.format(current=now)
        if wanted.lower() in OFF_WORDS:
            await self._store.use_source(user_id, room_id, None)
            return strings.USE_OFF
        name = self._full_name(wanted)
        target = await self._matrix.resolve(name) if name else None
        if name is None or target is None:
            return strings.USE_UNKNOWN_ROOM.format(room=code_span(wanted), server=self._server)
        if not await self._matrix.is_member(target, user_id):
            return strings.USE_NOT_MEMBER.format(room=name)
        if not self._matrix.is_in(target):
            return strings.USE_BOT_NOT_THERE.format(room=name)
        await self._store.use_source(user_id, room_id, Source(target, name))
        return strings.USE_SET.format(room=name)

    def _full_name(self, wanted: str) -> str | None:
        """`#club`, `#club:server` or a room id; None for anything else."""
        if wanted.startswith("#") and ":" not in wanted:
            wanted = f"{wanted}:{self._server}"
        return wanted if is_room_alias(wanted) or is_room_id(wanted) else None


def _line(file: FileState) -> str:
    if file.state == KNOWLEDGE_QUEUED:
        state = strings.DOCS_QUEUED
    elif file.state == KNOWLEDGE_INDEXING:
        state = strings.DOCS_INDEXING.format(progress=file.progress)
    elif file.state == KNOWLEDGE_FAILED:
        state = strings.DOCS_FAILED.format(reason=defuse_mentions(file.reason))
    else:
        size = strings.document_size(document_kind(file.name, "") or "text", file.pages)
        state = strings.DOCS_READY.format(size=size, chunks=file.chunks)
    return strings.DOCS_LINE.format(name=defuse_mentions(file.name), uploader=file.uploader, state=state)

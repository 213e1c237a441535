"""Nearest chunks by cosine similarity, without a vector extension in the database.

pgvector is not packaged for this PostgreSQL, and SQLite has none, so the embeddings are
stored as plain bytes (float32, normalised) and searched here: one room's vectors are
held as a matrix, and a question is one matrix-vector product and a partial sort. One
room's matrix is kept in memory between questions (a few rooms at a time) and rebuilt
when its chunks change. docs/SCALING.md says when to move to a vector service."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]


def to_bytes(vector: list[float]) -> bytes:
    """An embedding as stored: float32, little-endian, scaled to length 1."""
    array = np.asarray(vector, dtype="<f4")
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).astype("<f4").tobytes()


@dataclass(frozen=True)
class RoomVectors:
    """One room's chunk ids and their embeddings, row by row; `version` says which state
    of the room's chunks it was built from."""

    version: tuple[int, int]
    ids: npt.NDArray[np.int64]
    matrix: Matrix

    @classmethod
    def build(cls, version: tuple[int, int], rows: list[tuple[int, bytes]], dimensions: int) -> RoomVectors:
        """From (id, embedding bytes) rows; rows of another size (a changed embedding
        model) are left out rather than compared with the wrong vectors."""
        kept = [(chunk_id, blob) for chunk_id, blob in rows if len(blob) == dimensions * 4]
        ids = np.fromiter((chunk_id for chunk_id, _ in kept), dtype=np.int64, count=len(kept))
        matrix = np.frombuffer(b"".join(blob for _, blob in kept), dtype="<f4").reshape(len(kept), dimensions)
        return cls(version, ids, matrix)

    def nearest(self, question: list[float], k: int) -> list[tuple[int, float]]:
        """The ids of the `k` chunks closest to `question`, closest first, with their
        cosine similarity."""
        if not len(self.ids) or k <= 0:
            return []
        query = np.frombuffer(to_bytes(question), dtype="<f4")
        if query.shape[0] != self.matrix.shape[1]:
            return []
        scores = self.matrix @ query
        top = np.argpartition(-scores, min(k, len(scores)) - 1)[:k]
        ordered = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in ordered]


class VectorCache:
    """The matrices of the rooms searched most recently (at most `rooms` of them)."""

    def __init__(self, rooms: int = 16) -> None:
        self._rooms = rooms
        self._held: OrderedDict[str, RoomVectors] = OrderedDict()

    def get(self, room_id: str, version: tuple[int, int]) -> RoomVectors | None:
        held = self._held.get(room_id)
        if held is None or held.version != version:
            return None
        self._held.move_to_end(room_id)
        return held

    def put(self, room_id: str, vectors: RoomVectors) -> None:
        self._held[room_id] = vectors
        self._held.move_to_end(room_id)
        while len(self._held) > self._rooms:
            self._held.popitem(last=False)

"""The one owner of each person's model: which one answers them (their choice, or the
default), the rule that turns what they typed into one of Ollama's names (`llama3` means
`llama3:latest`), and saving a choice. The bot's `!model` and the portal both call it."""

from __future__ import annotations

from typing import Protocol

from common.ollama_catalogue import ModelCatalogue


class UnknownModel(ValueError):
    """Ollama has no chat model by that name."""

    def __init__(self, wanted: str) -> None:
        super().__init__(f"no model called {wanted!r}")
        self.wanted = wanted


class ChoiceStore(Protocol):
    async def get_model(self, user_id: str) -> str | None: ...
    async def set_model(self, user_id: str, model: str) -> None: ...


def resolve_model_name(wanted: str, available: list[str]) -> str | None:
    """Exact name, or the `:latest` tag when the person left the tag out. Pure."""
    wanted = wanted.strip()
    if wanted in available:
        return wanted
    if wanted and ":" not in wanted and f"{wanted}:latest" in available:
        return f"{wanted}:latest"
    return None


class ModelChoice:
    def __init__(self, store: ChoiceStore, catalogue: ModelCatalogue, default_model: str) -> None:
        self._store = store
        self._catalogue = catalogue
        self.default_model = default_model

    async def current(self, user_id: str) -> str:
        return await self._store.get_model(user_id) or self.default_model

    async def choose(self, user_id: str, wanted: str) -> str:
        """Save the model `wanted` names; returns its full name. Raises UnknownModel, or
        OllamaUnavailable when Ollama cannot say which models it has."""
        match = resolve_model_name(wanted, await self._catalogue.names())
        if match is None:
            raise UnknownModel(wanted)
        await self._store.set_model(user_id, match)
        return match

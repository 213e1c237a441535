"""The one owner of each person's model: which one answers them (their choice, or the
default), the rule that turns what they typed into one of Ollama's names (`llama3` means
`llama3:latest`), the models on offer (the admins' allow-list, when there is one), and
saving a choice. The bot's `!model`/`!models` and the portal all call it."""

from __future__ import annotations

from typing import Protocol

from common.assistant_policy import offered
from common.ollama_catalogue import ModelCatalogue, ModelInfo


class UnknownModel(ValueError):
    """Ollama has no chat model by that name."""

    def __init__(self, wanted: str) -> None:
        super().__init__(f"no model called {wanted!r}")
        self.wanted = wanted


class AllowList(Protocol):
    async def allowed_models(self) -> frozenset[str] | None: ...


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
    def __init__(
        self,
        store: ChoiceStore,
        catalogue: ModelCatalogue,
        default_model: str,
        allow_list: AllowList | None = None,
    ) -> None:
        self._store = store
        self._catalogue = catalogue
        self.default_model = default_model
        self._allow_list = allow_list

    async def _allowed(self) -> frozenset[str] | None:
        return await self._allow_list.allowed_models() if self._allow_list else None

    async def current(self, user_id: str) -> str:
        """The person's model; a choice the admins no longer offer falls back to the
        default (or, if that is not offered either, to the first model that is)."""
        chosen = await self._store.get_model(user_id) or self.default_model
        allowed = await self._allowed()
        if allowed is None or chosen in allowed:
            return chosen
        return self.default_model if self.default_model in allowed or not allowed else min(allowed)

    async def offered_names(self) -> list[str]:
        """The chat models people may pick. Raises OllamaUnavailable."""
        return offered(await self._catalogue.names(), await self._allowed())

    async def offered_models(self) -> list[ModelInfo]:
        """The same, described (size, vision). Raises OllamaUnavailable."""
        allowed = await self._allowed()
        return [info for info in await self._catalogue.describe() if allowed is None or info.name in allowed]

    async def choose(self, user_id: str, wanted: str) -> str:
        """Save the model `wanted` names; returns its full name. Raises UnknownModel, or
        OllamaUnavailable when Ollama cannot say which models it has."""
        match = resolve_model_name(wanted, await self.offered_names())
        if match is None:
            raise UnknownModel(wanted)
        await self._store.set_model(user_id, match)
        return match

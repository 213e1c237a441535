"""The AI line of `make run`'s banner, against real HTTP: where the model answers, or,
for a newcomer without Ollama or without the model, the URL tried and the exact fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.readiness import model_tier_line
from stack.settings import StackSettings
from tests.ollama_double import OllamaDouble, free_port


def _settings(tmp_path: Path, urls: str) -> StackSettings:
    return StackSettings.from_env({"DATA_DIR": str(tmp_path), "OLLAMA_BASE_URL": urls})


@pytest.fixture
def bare_ollama() -> Iterator[OllamaDouble]:
    double = OllamaDouble(models=[]).start()
    yield double
    double.stop()


async def test_the_line_says_where_the_model_answers(tmp_path: Path, ollama: OllamaDouble) -> None:
    line = await model_tier_line(_settings(tmp_path, f"{ollama.base_url},http://127.0.0.1:{free_port()}"))
    assert line == f"llama3:latest at {ollama.base_url}"


async def test_without_the_model_the_line_says_to_pull_it(tmp_path: Path, bare_ollama: OllamaDouble) -> None:
    line = await model_tier_line(_settings(tmp_path, bare_ollama.base_url))
    assert bare_ollama.base_url in line and "`ollama pull llama3`" in line


async def test_without_ollama_the_line_names_the_url_and_how_to_start_it(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    line = await model_tier_line(_settings(tmp_path, down))
    assert f"Ollama did not answer at {down}" in line and "`ollama serve`" in line
    assert "`ollama pull llama3`" in line

"""The portal's app factory, home page and /healthz, against the real Synapse and the double."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import create_app
from portal.config import PortalSettings
from tests.ollama_double import FakeModel, OllamaDouble, free_port
from tests.synapse_server import SynapseServer


def _settings(synapse: SynapseServer, ollama_url: str, data_dir: Path) -> PortalSettings:
    return PortalSettings.from_env(
        {**synapse.env(), "DATA_DIR": str(data_dir), "OLLAMA_BASE_URL": ollama_url}
    )


@pytest.fixture
async def portal(synapse: SynapseServer, ollama: OllamaDouble, tmp_path: Path) -> AsyncIterator[TestClient]:
    app = create_app(_settings(synapse, ollama.base_url, tmp_path))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_healthz_reports_every_dependency(portal: TestClient) -> None:
    response = await portal.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "homeserver": True,
        "ollama": True,
        "database": True,
    }


async def test_healthz_stays_up_and_names_what_is_down(synapse: SynapseServer, tmp_path: Path) -> None:
    app = create_app(_settings(synapse, f"http://127.0.0.1:{free_port()}", tmp_path))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        body = await response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["ollama"]["ok"] is False
    assert body["checks"]["homeserver"]["ok"] is True


async def test_home_page_explains_the_platform(portal: TestClient, synapse: SynapseServer) -> None:
    response = await portal.get("/")
    assert response.status == 200
    html = await response.text()
    assert "AI assistant" in html
    assert f"#public:{synapse.server_name}" in html
    assert synapse.settings.public_baseurl.rstrip("/") in html


@pytest.fixture
def without_the_model() -> Iterator[OllamaDouble]:
    """An Ollama that answers but has only some other model: a fresh install before `pull`."""
    double = OllamaDouble(models=[FakeModel("mistral:latest")]).start()
    yield double
    double.stop()


async def test_healthz_names_each_server_and_what_to_do_about_it(
    synapse: SynapseServer, ollama: OllamaDouble, without_the_model: OllamaDouble, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    urls = f"{ollama.base_url},{down},{without_the_model.base_url}"
    app = create_app(_settings(synapse, urls, tmp_path))
    async with TestClient(TestServer(app)) as client:
        body = await (await client.get("/healthz")).json()
    tier = body["checks"]["ollama"]
    assert tier["ok"] is True and body["status"] == "ok"  # one server can answer
    rows = {row["url"]: row for row in tier["servers"]}
    assert rows[ollama.base_url] == {**rows[ollama.base_url], "ok": True, "fix": ""}
    assert rows[down]["ok"] is False and "`ollama serve`" in rows[down]["fix"] and down in rows[down]["fix"]
    assert rows[without_the_model.base_url]["fix"] == "fetch the model there: `ollama pull llama3`"


async def test_a_newcomer_without_ollama_is_told_the_url_and_the_fix_on_every_page(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    app = create_app(_settings(synapse, down, tmp_path))
    async with TestClient(TestServer(app)) as client:
        deadline = time.monotonic() + 15
        while "The AI service is offline" not in (html := await (await client.get("/")).text()):
            assert time.monotonic() < deadline, "no offline banner"  # the status refreshes in the background
            await asyncio.sleep(0.1)
        body = await (await client.get("/healthz")).json()
    assert f"start Ollama at {down} (`ollama serve`)" in html
    assert body["checks"]["ollama"]["detail"].startswith(f"start Ollama at {down}")

"""The portal's app factory, home page and /healthz, against the real Synapse and the double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import create_app
from portal.config import PortalSettings
from tests.ollama_double import OllamaDouble, free_port
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

"""The rendered Synapse config: secrets per install, kept across reruns, safe defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import yaml

from stack.settings import StackSettings
from stack.synapse_config import render
from tests.synapse_server import SynapseServer


def _settings(data_dir: Path, **env: str) -> StackSettings:
    return StackSettings.from_env({"DATA_DIR": str(data_dir), **env})


def test_render_creates_private_secrets_and_keeps_them(tmp_path: Path) -> None:
    first = yaml.safe_load(render(_settings(tmp_path)).read_text())
    second = yaml.safe_load(render(_settings(tmp_path)).read_text())
    for key in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
        assert len(first[key]) >= 32
        assert first[key] == second[key]
    config_mode = stat.S_IMODE((tmp_path / "synapse" / "homeserver.yaml").stat().st_mode)
    assert config_mode == 0o600
    for secret in (tmp_path / "secrets").iterdir():
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_two_installs_get_different_secrets(tmp_path: Path) -> None:
    one = yaml.safe_load(render(_settings(tmp_path / "a")).read_text())
    two = yaml.safe_load(render(_settings(tmp_path / "b")).read_text())
    assert one["registration_shared_secret"] != two["registration_shared_secret"]


def test_defaults_are_loopback_client_only_and_closed_registration(tmp_path: Path) -> None:
    config = yaml.safe_load(
        render(_settings(tmp_path, SERVER_NAME="chat.example", SYNAPSE_PORT="8448")).read_text()
    )
    listener, portal_listener = config["listeners"]
    assert listener["bind_addresses"] == ["127.0.0.1"]
    assert listener["port"] == 8448
    assert listener["x_forwarded"] is False
    assert [r["names"] for r in listener["resources"]] == [["client"]]
    # The portal's listener trusts X-Forwarded-For, so it is on loopback only.
    assert portal_listener["bind_addresses"] == ["127.0.0.1"]
    assert portal_listener["port"] == 8449
    assert portal_listener["x_forwarded"] is True
    assert config["enable_registration"] is False
    assert config["federation_domain_whitelist"] == []
    assert config["server_name"] == "chat.example"
    assert config["public_baseurl"] == "http://localhost:8448/"
    assert config["max_upload_size"] == "100M"
    assert not any(key.startswith("rc_") for key in config)  # Synapse's default rate limits apply


def test_federation_switch(tmp_path: Path) -> None:
    config = yaml.safe_load(render(_settings(tmp_path, ENABLE_FEDERATION="true")).read_text())
    listener, portal_listener = config["listeners"]
    assert listener["resources"][0]["names"] == ["client", "federation"]
    assert portal_listener["x_forwarded"] is True
    assert config["federation_domain_whitelist"] is None


async def test_running_synapse_serves_well_known_and_refuses_open_registration(
    synapse: SynapseServer,
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{synapse.url}/.well-known/matrix/client") as response:
            assert response.status == 200
            well_known = await response.json(content_type=None)
        async with session.post(
            f"{synapse.url}/_matrix/client/v3/register", json={"username": "mallory"}
        ) as response:
            assert response.status == 403
    assert well_known["m.homeserver"]["base_url"] == synapse.settings.public_baseurl


def test_postgres_database_for_production(tmp_path: Path) -> None:
    config = yaml.safe_load(
        render(
            _settings(tmp_path, SYNAPSE_DATABASE_URL="postgresql://synapse:s%40cret@postgres:5432/synapse")
        ).read_text()
    )
    assert config["database"] == {
        "name": "psycopg2",
        "args": {
            "user": "synapse",
            "database": "synapse",
            "host": "postgres",
            "port": 5432,
            "cp_min": 5,
            "cp_max": 10,
            "password": "s@cret",
        },
    }

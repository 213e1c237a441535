"""The server path, rehearsed (issue #11): docker-compose.yml's own app services run as
local processes, with what `docker-compose config` resolves, against Synapse on
PostgreSQL (see tests/compose_rehearsal.py for what stands in for what). They come up in
compose's order, pass compose's own healthchecks, a person signs up through the portal,
the bot answers in #public, each client keeps its own address behind the proxy, and
state stays in the volumes compose mounts, each seen only by the services that need it."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from nio import AsyncClient, AsyncClientConfig, LoginResponse

from common import secrets as app_secrets
from common.synapse_admin import register_user
from tests.compose_rehearsal import (
    EXTERNAL,
    PATH,
    Loopback,
    Rehearsal,
    drop_databases,
    init_databases,
    passwords,
    require,
    resolve,
    start_order,
    tables,
)
from tests.matrix_user import MatrixUser, wait_for_answer
from tests.ollama_double import FakeModel, OllamaDouble
from tests.services import reachable

REHEARSED = {"config", "synapse", "bootstrap", "bot", "portal"}
STEP_TIMEOUT_S = 60.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SYNAPSE_LIMITED = "Too many login attempts. Try again in a minute."  # the portal, on Synapse's 429


def up(stack: Rehearsal) -> None:
    """What `docker compose up` does for the rehearsed services: start each once what it
    depends on is in the state compose waits for."""
    for name in start_order(stack.compose, REHEARSED):
        for dependency, rule in stack.service(name).get("depends_on", {}).items():
            condition = rule["condition"]
            if condition == "service_completed_successfully":
                stack.completed(dependency, STEP_TIMEOUT_S)
            elif condition == "service_healthy" and dependency not in EXTERNAL:
                wait_healthy(stack, dependency)
        if name == "synapse":
            start_synapse(stack)
        else:
            stack.spawn(name)


def wait_healthy(stack: Rehearsal, name: str) -> None:
    stack.wait(f"{name} healthy", lambda: stack.healthy(name), STEP_TIMEOUT_S, name)


def start_synapse(stack: Rehearsal) -> None:
    """The pip package in place of the image, on the config `config` rendered into the
    synapse_data volume, which Synapse reads through its own mount."""
    stack.prepare("synapse")
    config_path = stack.host_path("synapse", stack.service("synapse")["environment"]["SYNAPSE_CONFIG_PATH"])
    config = yaml.safe_load(config_path.read_text())
    for key in ("media_store_path", "signing_key_path", "log_config", "pid_file"):
        seen_by_config = stack.container_path("config", Path(config[key]))
        volume = stack.volume_at("config", seen_by_config)
        assert volume is not None, f"{key} ({seen_by_config}) is in no volume: Synapse would not see it"
        assert stack.volume_at("synapse", seen_by_config) == volume, f"Synapse does not mount {volume}"
    stack.spawn(
        "synapse",
        [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config_path)],
        {"PATH": PATH, "HOME": str(stack.container_root("synapse"))},
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    require(shutil.which("docker-compose"), "docker-compose (Debian package) is not installed")
    require(
        reachable("postgres") and shutil.which("psql"), "PostgreSQL and psql are needed on 127.0.0.1:5432"
    )
    root = tmp_path_factory.mktemp("rehearsal")
    compose = resolve(root / "project", passwords())
    run = secrets.token_hex(4)
    names = {"synapse": f"synapse_rehearsal_{run}", "app": f"app_rehearsal_{run}"}
    ollama = OllamaDouble(models=[FakeModel("llama3:latest")]).start()
    stack = Rehearsal(
        compose,
        root,
        Loopback.fresh(),
        external={("ollama", 11434): ("127.0.0.1", ollama.port), ("postgres", 5432): ("127.0.0.1", 5432)},
        names=names,
    )
    try:
        init_databases(compose, names, stack.log_path("postgres-init"))
        stack.mark("roles and databases created")
        up(stack)
        wait_healthy(stack, "bot")  # readiness: joined to its rooms and synced
        wait_healthy(stack, "portal")  # readiness: /readyz
        yield stack
    finally:
        stack.stop_all()
        ollama.stop()
        drop_databases(names)
        print("rehearsal timeline:", stack.timeline)


def url(stack: Rehearsal, service: str, port: int) -> str:
    return f"http://{stack.net.address(service)}:{port}"


def server_name(stack: Rehearsal) -> str:
    return str(stack.service("bot")["environment"]["SERVER_NAME"])


PASSWORD = "correct horse battery"


async def registered_user(stack: Rehearsal, prefix: str) -> tuple[str, str]:
    """An account made with the shared secret, as an operator would; (username, user id)."""
    secret = app_secrets.read_secret(
        stack.host_path("bootstrap", "/data"), app_secrets.REGISTRATION_SHARED_SECRET
    )
    username = f"{prefix}_{secrets.token_hex(3)}"
    async with aiohttp.ClientSession() as session:
        registration = await register_user(session, url(stack, "synapse", 8008), secret, username, PASSWORD)
    return username, registration.user_id


async def csrf_token(browser: aiohttp.ClientSession, page: str) -> str:
    async with browser.get(page) as response:
        match = CSRF.search(await response.text())
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def browser(local_address: str | None = None) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0)) if local_address else None
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def failed_logins_until_throttled(
    session: aiohttp.ClientSession, portal: str, forwarded_for: Callable[[int], str]
) -> bool:
    """Wrong logins through the portal (a new account each time, so only the address
    limit can apply) until the portal passes on Synapse's 429; False if it never does."""
    token = await csrf_token(session, f"{portal}/login")
    for attempt in range(12):
        form = {
            "username": f"nobody{attempt}_{secrets.token_hex(2)}",
            "password": "wrong",
            "csrf_token": token,
        }
        headers = {"Origin": portal, "X-Forwarded-For": forwarded_for(attempt)}
        async with session.post(f"{portal}/login", data=form, headers=headers) as response:
            if SYNAPSE_LIMITED in await response.text():
                return True
    return False


def test_bootstrap_completes_and_compose_healthchecks_report_ready(stack: Rehearsal) -> None:
    assert stack.processes["bootstrap"].returncode == 0
    assert stack.healthy("synapse") and stack.healthy("bot") and stack.healthy("portal")
    # Synapse and the app each use their own database, made by deploy/postgres-init.sh.
    assert "users" in tables(stack.names["synapse"])
    assert "alembic_version" in tables(stack.names["app"])
    assert "users" not in tables(stack.names["app"])
    events = dict(stack.timeline)
    assert events["portal healthy"] < 90, stack.timeline


async def test_readyz_answers_200_with_rooms_and_bot(stack: Rehearsal) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url(stack, 'portal', 8080)}/readyz") as response,
    ):
        state = await response.json()
        assert response.status == 200, state
    assert state["ready"] is True and state["bot"] is True
    assert all(state["rooms"].values()) and len(state["rooms"]) == 2


async def test_a_person_signs_up_through_the_portal_with_an_invitation_code(stack: Rehearsal) -> None:
    portal, username, password = (
        url(stack, "portal", 8080),
        f"new_{secrets.token_hex(3)}",
        "a long passphrase 42",
    )
    # Sign-up is by invitation code on this path: without one it is refused, and the
    # operator prints the first with `docker compose run --rm bootstrap python -m stack invite`.
    invite = subprocess.run(
        stack.read_only("bootstrap", stack.argv("bootstrap", ["python", "-m", "stack", "invite"])),
        env=stack.environment("bootstrap"),
        cwd=stack.container_root("bootstrap"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert invite.returncode == 0, invite.stderr
    code = invite.stdout.strip().rsplit(" ", 1)[-1]
    async with browser() as session:
        for sent_code, status in (("", 400), (code, 303)):
            token = await csrf_token(session, f"{portal}/signup")
            form = {"username": username, "password": password, "confirm": password, "csrf_token": token}
            form["code"] = sent_code
            async with session.post(
                f"{portal}/signup", data=form, headers={"Origin": portal}, allow_redirects=False
            ) as response:
                assert response.status == status, await response.text()
    # The account is Synapse's, with that password, in #public and #gallery.
    client = AsyncClient(url(stack, "synapse", 8008), f"@{username}:{server_name(stack)}")
    try:
        assert isinstance(await client.login(password), LoginResponse)
        joined = set((await client.joined_rooms()).rooms)
        for alias in ("public", "gallery"):
            resolved = await client.room_resolve_alias(f"#{alias}:{server_name(stack)}")
            assert resolved.room_id in joined, alias
    finally:
        await client.close()


async def test_the_bot_answers_in_public(stack: Rehearsal) -> None:
    _, user_id = await registered_user(stack, "asker")
    client = AsyncClient(url(stack, "synapse", 8008), user_id, config=AsyncClientConfig(request_timeout=30))
    assert isinstance(await client.login(PASSWORD), LoginResponse)
    person = MatrixUser(client)
    try:
        await person.sync()
        room_id = await person.join(f"#public:{server_name(stack)}")
        question = await person.send(room_id, "@bot hello")
        bot_id = f"@bot:{server_name(stack)}"
        answer = await wait_for_answer(person, room_id, question, bot_id, "You said: hello", timeout=30)
        assert answer.reply is not None
    finally:
        await person.close()


async def test_behind_the_proxy_the_portal_tells_clients_apart(stack: Rehearsal) -> None:
    """The documented proxy setup: the proxy (an address in the compose network) sets
    X-Forwarded-For; the portal believes it and passes each client's address on to
    Synapse, so one client's failed logins do not lock out the next."""
    portal, proxy = url(stack, "portal", 8080), stack.net.address("proxy")
    async with browser(proxy) as first:
        assert await failed_logins_until_throttled(first, portal, lambda _: "203.0.113.10")
    username, _ = await registered_user(stack, "second")
    async with browser(proxy) as second:
        token = await csrf_token(second, f"{portal}/login")
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        headers = {"Origin": portal, "X-Forwarded-For": "203.0.113.20"}
        async with second.post(
            f"{portal}/login", data=form, headers=headers, allow_redirects=False
        ) as response:
            assert response.status == 303, await response.text()


async def test_a_client_outside_the_proxy_network_cannot_pick_its_address(stack: Rehearsal) -> None:
    """Written as the attacker: a new X-Forwarded-For on every attempt, sent straight to
    the portal, is not believed; Synapse throttles the real address all the same."""
    portal = url(stack, "portal", 8080)
    async with browser(stack.net.outside) as session:
        assert await failed_logins_until_throttled(session, portal, lambda n: f"198.51.100.{n + 1}")


async def test_behind_the_proxy_synapse_tells_clients_apart(stack: Rehearsal) -> None:
    """Synapse's client listener (SYNAPSE_X_FORWARDED=true from compose) takes each
    client's address from the proxy's X-Forwarded-For."""
    login = f"{url(stack, 'synapse', 8008)}/_matrix/client/v3/login"
    _, user_id = await registered_user(stack, "direct")

    def body(user: str, secret: str) -> dict[str, object]:
        return {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": secret,
        }

    async with aiohttp.ClientSession() as session:
        for attempt in range(12):
            headers = {"X-Forwarded-For": "192.0.2.10"}
            async with session.post(
                login, json=body(f"nobody{attempt}", "wrong"), headers=headers
            ) as response:
                if response.status == 429:
                    break
        else:
            pytest.fail("Synapse never throttled the first client's logins")
        async with session.post(
            login, json=body(user_id, PASSWORD), headers={"X-Forwarded-For": "192.0.2.20"}
        ) as response:
            assert response.status == 200, await response.text()


# Who can read each secret: the services whose mounts reach the file.
SECRET_READERS = {
    app_secrets.REGISTRATION_SHARED_SECRET: {"config", "bootstrap"},
    app_secrets.MACAROON_SECRET_KEY: {"config", "bootstrap"},
    app_secrets.ADMIN_PASSWORD: {"bootstrap"},
    app_secrets.BOT_PASSWORD: {"bootstrap", "bot"},
    app_secrets.BOT_STORE_KEY: {"bootstrap", "bot"},
    app_secrets.PORTAL_SESSION_KEY: {"bootstrap", "portal"},
    app_secrets.PORTAL_REGISTRATION_TOKEN: {"bootstrap", "portal"},
}


def test_state_stays_in_the_volumes_each_seen_only_where_needed(stack: Rehearsal) -> None:
    for name in REHEARSED:
        assert stack.layer_files(name) == [], f"{name} wrote outside its volumes"
    for secret, readers in SECRET_READERS.items():
        path = f"/data/secrets/{secret.component}/{secret.name}"
        seen_by = {name for name in REHEARSED if stack.host_path(name, path).is_file()}
        assert seen_by == readers, secret
        assert stack.host_path(next(iter(readers)), path).stat().st_mode & 0o077 == 0, secret
    assert stack.host_path("synapse", "/data/synapse/homeserver.yaml").is_file()
    assert stack.host_path("bot", "/data/bot/health.json").is_file()


def test_bootstrap_says_which_homeserver_url_it_waits_for(tmp_path: Path) -> None:
    """Issue #11, item 11: with nothing at HOMESERVER_URL, the bootstrap waits for that
    URL (not 127.0.0.1) and says so, at once and every 10 s."""
    require(shutil.which("docker-compose"), "docker-compose (Debian package) is not installed")
    rehearsal = Rehearsal(resolve(tmp_path / "project", passwords()), tmp_path, Loopback.fresh(), {}, {})
    expected = f"{url(rehearsal, 'synapse', 8008)}/_matrix/client/versions"
    rehearsal.spawn("bootstrap")
    try:
        rehearsal.wait(
            "bootstrap says it still waits",
            lambda: f"still waiting for {expected}" in rehearsal.logs("bootstrap"),
            20,
            "bootstrap",
        )
    finally:
        rehearsal.stop_all()
    messages = [
        json.loads(line)["message"]
        for line in rehearsal.logs("bootstrap").splitlines()
        if line.startswith("{")
    ]
    assert f"waiting for the homeserver at {url(rehearsal, 'synapse', 8008)}" in messages
    assert not any("127.0.0.1" in message for message in messages)

"""`make backup` while the stack runs, `make restore` into a new DATA_DIR, and the platform
goes on from there: Synapse knows the person and their encrypted direct chat, the bot
still decrypts what they write in it (its encryption store came back) and still
remembers what they said before the backup (the app database came back). Plus the
refusals: a non-empty DATA_DIR, something that is not a backup, a PostgreSQL setup."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from stack.backup import BackupError, backup, restore
from tests.bot_process import BotProcess
from tests.conftest import bot_env
from tests.matrix_user import MatrixUser, wait_for_answer
from tests.ollama_double import OllamaDouble
from tests.synapse_server import SynapseServer, start_synapse
from tests.test_encryption_e2e import encrypted_dm

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bot(synapse: SynapseServer, ollama: OllamaDouble) -> BotProcess:
    data_dir = synapse.settings.data_dir
    return BotProcess(bot_env(synapse, ollama.base_url), data_dir, data_dir / "bot.log").start()


def _stack_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_backup_taken_while_running_restores_into_a_new_data_dir(
    tmp_path: Path, ollama: OllamaDouble
) -> None:
    first = await asyncio.to_thread(start_synapse, tmp_path / "before" / "var")
    bot = await asyncio.to_thread(_bot, first, ollama)
    bot_id = first.provisioned.bot_user_id
    (tmp_path / "alice-keys").mkdir()
    alice = await MatrixUser.register(first, "keeper", store_path=str(tmp_path / "alice-keys"))
    try:
        room_id = await encrypted_dm(alice, bot_id)
        said = await alice.send(room_id, "my name is Zed")
        await wait_for_answer(alice, room_id, said, bot_id, "You said: my name is Zed")

        made = _stack_command(first.env(), "backup", "--to", str(tmp_path / "backups"))
        assert made.returncode == 0, made.stderr
        archive = Path(made.stdout.strip().rsplit(" ", 1)[-1])
        assert archive.is_file() and archive.stat().st_mode & 0o777 == 0o600
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        assert "app.db" in names and "synapse/homeserver.db" in names and "synapse/signing.key" in names
        assert any(name.startswith("bot/crypto/") for name in names)
        assert not any(name.endswith(".log") for name in names)
    finally:
        bot.stop()
        first.stop()

    restored_dir = tmp_path / "after" / "var"
    done = _stack_command({"DATA_DIR": str(restored_dir)}, "restore", str(archive))
    assert done.returncode == 0, done.stderr
    assert restored_dir.stat().st_mode & 0o777 == 0o700

    # The same accounts, rooms and keys, on new ports.
    second = await asyncio.to_thread(start_synapse, restored_dir)
    bot = await asyncio.to_thread(_bot, second, ollama)
    try:
        assert second.provisioned.room_ids == first.provisioned.room_ids
        alice.client.homeserver = second.url  # the person's own client, pointed at the new place
        await alice.sync()
        before = len(ollama.chat_requests())
        question = await alice.send(room_id, "what is my name?")
        await wait_for_answer(alice, room_id, question, bot_id, "You said: what is my name?")
        [request] = ollama.chat_requests()[before:]
        contents = [message["content"] for message in request["messages"]]
        assert "my name is Zed" in contents, "the conversation from before the backup was forgotten"
    finally:
        await alice.close()
        bot.stop()
        second.shut_down()


def test_restore_refuses_a_data_dir_in_use_and_what_is_not_a_backup(tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "app.db").write_bytes(b"precious")
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "whatever.tar.gz", used)
    assert (used / "app.db").read_bytes() == b"precious"

    not_a_backup = tmp_path / "photos.tar.gz"
    with tarfile.open(not_a_backup, "w:gz") as tar:
        tar.add(used / "app.db", arcname="app.db")
    with pytest.raises(BackupError, match="not a platform backup"):
        restore(not_a_backup, tmp_path / "fresh")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(BackupError, match="could not be read"):
        restore(truncated, tmp_path / "fresh2")


def test_backup_refuses_a_postgresql_setup_rather_than_half_save_it(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    with pytest.raises(BackupError, match="pg_dump"):
        backup(tmp_path, tmp_path / "out", ("postgresql://app:pw@db:5432/app",))
    assert not (tmp_path / "out").exists()

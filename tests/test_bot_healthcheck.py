"""The bot's health check, as compose runs it: healthy only when ready and recent."""

from __future__ import annotations

import json
from pathlib import Path

from bot.healthcheck import healthy


def test_a_recent_sync_of_a_ready_bot_is_healthy_and_anything_else_is_not(tmp_path: Path) -> None:
    assert not healthy(tmp_path, now=1000.0)
    (tmp_path / "health.json").write_text(json.dumps({"last_sync": 990.0, "ready": True}))
    assert healthy(tmp_path, now=1000.0)
    assert not healthy(tmp_path, now=2000.0)
    (tmp_path / "health.json").write_text(json.dumps({"last_sync": 990.0, "ready": False}))
    assert not healthy(tmp_path, now=1000.0), "synced but not yet in its rooms"
    (tmp_path / "health.json").write_text("not json")
    assert not healthy(tmp_path, now=1000.0)


def test_an_encryption_store_from_before_its_key_existed_is_kept_under_a_new_key(tmp_path: Path) -> None:
    """Stores pickled with nio's constant default key are re-pickled under the install's
    own key: the device and its sessions survive, and the old key no longer opens them."""
    from nio.crypto import OlmAccount
    from nio.store import DefaultStore

    from bot.crypto import NIO_DEFAULT_KEY, rekey_store

    store_dir = tmp_path / "crypto"
    store_dir.mkdir()
    account = OlmAccount()
    DefaultStore("@bot:localhost", "DEVICE", str(store_dir), NIO_DEFAULT_KEY).save_account(account)
    assert rekey_store(store_dir, "@bot:localhost", "DEVICE", NIO_DEFAULT_KEY, "generated key")
    reopened = DefaultStore("@bot:localhost", "DEVICE", str(store_dir), "generated key").load_account()
    assert reopened is not None and reopened.identity_keys == account.identity_keys
    try:
        DefaultStore("@bot:localhost", "DEVICE", str(store_dir), NIO_DEFAULT_KEY).load_account()
    except Exception:
        pass  # the old key cannot open it any more
    else:
        raise AssertionError("the old constant key still opens the store")

"""End-to-end encryption upkeep for a matrix-nio client, and the key its store is kept
under: a generated secret (not nio's constant default), so a copy of the store alone
does not give away the bot's device keys."""

from __future__ import annotations

import logging
from pathlib import Path

from nio import AsyncClient
from nio.store import DefaultStore

from bot import credentials
from common import secrets as app_secrets

log = logging.getLogger(__name__)

NIO_DEFAULT_KEY = "DEFAULT_KEY"  # what nio pickles with when no key is given


async def keys_housekeeping(client: AsyncClient) -> None:
    """Upload, query and claim keys as nio asks, and flush to-device messages, so
    encrypted rooms work (nio's `sync_forever` does this; our own sync loop calls it)."""
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()


def store_key(data_dir: Path, store_dir: Path) -> str:
    """The crypto store's key. An install from before this key existed has a store
    pickled with nio's default key: it is re-pickled under a new key once."""
    try:
        return app_secrets.read_secret(data_dir, app_secrets.BOT_STORE_KEY)
    except FileNotFoundError:
        pass
    key = app_secrets.ensure_secret(data_dir, app_secrets.BOT_STORE_KEY)
    stored = credentials.load(store_dir.parent / "login.json")
    if stored is not None and any(store_dir.glob("*.db")):
        rekey_store(store_dir, stored.user_id, stored.device_id, NIO_DEFAULT_KEY, key)
    return key


def rekey_store(store_dir: Path, user_id: str, device_id: str, old_key: str, new_key: str) -> bool:
    """Re-pickle the account and sessions of nio's store under `new_key`; False when the
    store holds no account for this device."""
    store = DefaultStore(user_id, device_id, str(store_dir), old_key)
    account = store.load_account()
    if account is None:
        return False
    sessions = store.load_sessions()
    group_sessions = store.load_inbound_group_sessions()
    store.pickle_key = new_key
    store.save_account(account)
    for sender_key, session_list in sessions.items():
        for session in session_list:
            store.save_session(sender_key, session)
    for group_session in group_sessions:
        store.save_inbound_group_session(group_session)
    log.info("the encryption store of %s (%s) is now kept under its own key", user_id, device_id)
    return True

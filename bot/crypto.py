"""End-to-end encryption upkeep for a matrix-nio client."""

from __future__ import annotations

from nio import AsyncClient


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

"""First-start provisioning: accounts, rate-limit override and the two public rooms."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from stack.bootstrap import bootstrap
from tests.conftest import UserFactory
from tests.synapse_server import SynapseServer


async def test_public_and_gallery_are_listed_in_the_room_directory(
    synapse: SynapseServer, make_user: UserFactory
) -> None:
    alice = await make_user("alice")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{synapse.url}/_matrix/client/v3/publicRooms",
            headers={"Authorization": f"Bearer {alice.client.access_token}"},
        ) as listed,
    ):
        rooms = (await listed.json())["chunk"]
    aliases = {room.get("canonical_alias") for room in rooms}
    assert {f"#public:{synapse.server_name}", f"#gallery:{synapse.server_name}"} <= aliases


async def test_bootstrap_is_idempotent(synapse: SynapseServer) -> None:
    async with aiohttp.ClientSession() as session:
        again = await bootstrap(synapse.settings, session)
    assert again.room_ids == synapse.provisioned.room_ids
    assert again.bot_user_id == synapse.provisioned.bot_user_id


async def test_bot_rate_limit_is_lifted(synapse: SynapseServer) -> None:
    url = f"{synapse.url}/_synapse/admin/v1/users/{quote(synapse.provisioned.bot_user_id)}/override_ratelimit"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Bearer {synapse.provisioned.admin_token}"}) as response,
    ):
        body = await response.json()
    assert body == {"messages_per_second": 0, "burst_count": 0}

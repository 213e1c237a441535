"""Direct chats as Element keeps them: a room created with `is_direct`, listed under the
other person in the user's `m.direct` account data, reused while the user is still in it.
The portal cannot read end-to-end encrypted rooms (it holds no keys), so it reuses only
unencrypted ones, and creates a new one (unencrypted) when the only chat is encrypted."""

from __future__ import annotations

from portal.accounts.logins import PortalUser
from portal.matrix import UserMatrix


async def direct_chat_with(matrix: UserMatrix, user: PortalUser, other: str) -> str:
    """The room id of `user`'s direct chat with `other`, created if there is none."""
    token = user.access_token
    direct = await matrix.direct_rooms(token, user.user_id)
    joined = set(await matrix.joined_rooms(token))
    for room_id in direct.get(other, []):
        if room_id in joined and not await matrix.is_encrypted(token, room_id):
            return room_id
    room_id = await matrix.create_direct_chat(token, other)
    await remember_direct_chat(matrix, user, other, room_id, direct)
    return room_id


async def remember_direct_chat(
    matrix: UserMatrix,
    user: PortalUser,
    other: str,
    room_id: str,
    direct: dict[str, list[str]] | None = None,
) -> None:
    """List `room_id` as a direct chat with `other` (done too when accepting such an
    invite); `direct` is the user's `m.direct` if it was just read."""
    if direct is None:
        direct = await matrix.direct_rooms(user.access_token, user.user_id)
    rooms = direct.setdefault(other, [])
    if room_id not in rooms:
        rooms.insert(0, room_id)
        await matrix.set_direct_rooms(user.access_token, user.user_id, direct)

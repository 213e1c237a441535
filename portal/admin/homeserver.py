"""What the admin area asks of Synapse's admin API, with the admin account's token that
the bootstrap gave the portal: the people, approving and deactivating them, joining an
approved person to the platform's rooms, and invitation codes (registration tokens, so
a code works in Element's sign-up too)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from common.matrix_ids import segment
from common.synapse_errors import answer_json

ADMIN_API = "/_synapse/admin"
PEOPLE_PAGE = 50
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 16  # 32^16 = 2^80: not guessed at any rate Synapse or the portal allows


@dataclass(frozen=True)
class Person:
    user_id: str
    display_name: str
    created_ms: int
    approved: bool
    deactivated: bool
    server_admin: bool


@dataclass(frozen=True)
class InvitationCode:
    code: str
    uses_allowed: int | None
    completed: int
    pending: int
    expiry_ms: int | None

    @property
    def uses_left(self) -> int | None:
        if self.uses_allowed is None:
            return None
        return max(0, self.uses_allowed - self.completed - self.pending)

    def usable(self, now_ms: int | None = None) -> bool:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        expired = self.expiry_ms is not None and self.expiry_ms <= now_ms
        return not expired and self.uses_left != 0


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class HomeserverAdmin:
    def __init__(self, session: aiohttp.ClientSession, homeserver_url: str, token: str) -> None:
        self._session = session
        self._base = f"{homeserver_url}{ADMIN_API}"
        self._auth = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        url = f"{self._base}{path}"
        async with self._session.request(method, url, json=json, headers=self._auth) as answer:
            return await answer_json(answer)

    async def people(self, start: int = 0) -> tuple[list[Person], int | None]:
        """One page of local accounts, oldest first, and where the next page starts."""
        query = f"?from={start}&limit={PEOPLE_PAGE}&guests=false&deactivated=true&order_by=creation_ts"
        page = await self._call("GET", f"/v2/users{query}")
        people = [
            Person(
                str(user.get("name", "")),
                str(user.get("displayname") or ""),
                int(user.get("creation_ts") or 0),
                bool(user.get("approved", True)),
                bool(user.get("deactivated")),
                bool(user.get("admin")),
            )
            for user in page.get("users", [])
            if isinstance(user, dict)
        ]
        next_token = page.get("next_token")
        return people, int(next_token) if next_token is not None else None

    async def person(self, user_id: str) -> Person:
        user = await self._call("GET", f"/v2/users/{segment(user_id)}")
        return Person(
            user_id,
            str(user.get("displayname") or ""),
            int(user.get("creation_ts") or 0),
            bool(user.get("approved", True)),
            bool(user.get("deactivated")),
            bool(user.get("admin")),
        )

    async def approve(self, user_id: str) -> None:
        await self._call("PUT", f"/v2/users/{segment(user_id)}", {"approved": True})

    async def deactivate(self, user_id: str) -> None:
        """Deactivate the account: every Matrix device and token ends at once."""
        await self._call("POST", f"/v1/deactivate/{segment(user_id)}", {"erase": False})

    async def join(self, user_id: str, room: str) -> None:
        """Join `user_id` to `room` (the admin account is in the platform's rooms)."""
        await self._call("POST", f"/v1/join/{segment(room)}", {"user_id": user_id})

    async def codes(self) -> list[InvitationCode]:
        listed = await self._call("GET", "/v1/registration_tokens")
        return [
            InvitationCode(
                str(t["token"]),
                t.get("uses_allowed"),
                int(t.get("completed") or 0),
                int(t.get("pending") or 0),
                t.get("expiry_time"),
            )
            for t in listed.get("registration_tokens", [])
            if isinstance(t, dict) and "token" in t
        ]

    async def create_code(self, uses_allowed: int | None, expiry_ms: int | None) -> str:
        created = await self._call(
            "POST",
            "/v1/registration_tokens/new",
            {"token": new_code(), "uses_allowed": uses_allowed, "expiry_time": expiry_ms},
        )
        return str(created["token"])

    async def revoke_code(self, code: str) -> None:
        await self._call("DELETE", f"/v1/registration_tokens/{segment(code)}")

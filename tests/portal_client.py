"""Drive the portal like a browser: fetch the form's CSRF token, post with an Origin."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, client: TestClient, address: str = "203.0.113.1") -> None:
        self.client = client
        self.address = address  # the browser's address, as the trusted proxy reports it

    @property
    def origin(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, **extra}

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.client.get(path, headers=self.headers(), **kwargs)

    async def csrf(self, page: str = "/") -> str:
        html = await (await self.get(page)).text()
        match = TOKEN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    async def post(
        self, path: str, data: dict[str, str], page: str | None = None, **kwargs: Any
    ) -> ClientResponse:
        token = await self.csrf(page or path if (page or path) != "/logout" else "/")
        return await self.client.post(
            path,
            data={**data, "csrf_token": token},
            headers=self.headers(Origin=self.origin),
            allow_redirects=kwargs.pop("allow_redirects", False),
            **kwargs,
        )

    async def sign_up(self, username: str, password: str = "a long passphrase 42") -> ClientResponse:
        return await self.post("/signup", {"username": username, "password": password, "confirm": password})

    async def log_in(self, username: str, password: str = "a long passphrase 42") -> ClientResponse:
        return await self.post("/login", {"username": username, "password": password})


class SecondBrowser:
    """Another person on the same running portal: their own cookie jar."""

    def __init__(self, portal: TestClient, address: str) -> None:
        self._client: TestClient = TestClient(portal.server)
        self.browser = Browser(self._client, address)

    async def __aenter__(self) -> Browser:
        await self._client.start_server()  # the server already runs; this only opens a session
        return self.browser

    async def __aexit__(self, *exc: object) -> None:
        await self._client.session.close()  # leave the shared server running

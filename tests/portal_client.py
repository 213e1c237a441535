"""Drive the portal like a browser: fetch the form's CSRF token, post with an Origin."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
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

    async def post_json(self, path: str, body: Any, page: str = "/chat") -> ClientResponse:
        """A call of the chat page's script: JSON, with the CSRF token in its header."""
        token = await self.csrf(page)
        return await self.client.post(
            path, json=body, headers=self.headers(Origin=self.origin, **{"X-CSRF-Token": token})
        )

    async def open_stream(self, since: str | None = None) -> ChatStream:
        query = f"?since={since}" if since else ""
        response = await self.client.get(f"/chat/api/stream{query}", headers=self.headers())
        assert response.status == 200, await response.text()
        return ChatStream(response)

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


class ChatStream:
    """The server-sent events of /chat/api/stream, read as the page's EventSource would."""

    def __init__(self, response: ClientResponse) -> None:
        self.response = response
        self.last_id: str | None = None

    async def next(self, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
        name, data = "message", ""
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), timeout)).decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if line == "":
                if data:
                    return name, json.loads(data)
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data += value
            elif field == "id":
                self.last_id = value

    async def wait_for(
        self, name: str, check: Callable[[dict[str, Any]], bool] = lambda _: True, timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            got, data = await self.next(remaining)
            if got == name and check(data):
                return data
        raise TimeoutError(f"no {name!r} event as expected within {timeout} s")

    def close(self) -> None:
        self.response.close()

"""The bot's image fetch (`MatrixIO.download`) is bounded: a media server that stalls,
before its answer or in the middle of the body, is given up on after the timeout, and
one that keeps sending is cut off at the size limit, whatever size the event claimed.
The media server here is a real HTTP server serving Matrix's download path; the client
is a real nio `AsyncClient`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from nio import AsyncClient

from bot.matrix_io import MatrixActionFailed, MatrixIO, MediaTooLarge
from bot.values import MediaRef

TOKEN = "the-bots-token"
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
TIMEOUT_S = 1.0
MAX_BYTES = 256 * 1024
GRACE_S = 5.0  # how long past its own limit the test waits before calling it a hang


@dataclass
class MediaServer:
    """Serves `/_matrix/client/v1/media/download/localhost/<behaviour>`."""

    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends every stall
    cut_off: asyncio.Event = field(default_factory=asyncio.Event)  # the client hung up on `endless`
    tokens: list[str] = field(default_factory=list)
    sent_bytes: int = 0
    port: int = 0

    async def download(self, request: web.Request) -> web.StreamResponse:
        self.tokens.append(request.headers.get("Authorization", ""))
        behaviour = request.match_info["media_id"]
        if behaviour == "stall-before-answering":
            await self.release.wait()
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        if behaviour != "endless":
            response.content_length = len(IMAGE)
        await response.prepare(request)
        if behaviour == "stall-mid-body":
            await response.write(IMAGE[:100])
            await self.release.wait()
        elif behaviour == "endless":  # chunked, no length: only the client can stop it
            try:
                while True:
                    await response.write(b"\0" * 64 * 1024)
                    self.sent_bytes += 64 * 1024
            finally:
                self.cut_off.set()
        await response.write(IMAGE[100:] if behaviour == "stall-mid-body" else IMAGE)
        return response

    def media(self, behaviour: str, claimed_size: int | None = None) -> MediaRef:
        return MediaRef("image/png", url=f"mxc://localhost/{behaviour}", size=claimed_size)


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    server = MediaServer()
    app = web.Application()
    app.router.add_get("/_matrix/client/v1/media/download/{server}/{media_id}", server.download)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    yield server
    server.release.set()
    await runner.cleanup()


@pytest.fixture
async def matrix(media_server: MediaServer) -> AsyncIterator[MatrixIO]:
    client = AsyncClient(f"http://127.0.0.1:{media_server.port}", "@bot:localhost")
    client.access_token = TOKEN
    yield MatrixIO(client)
    await client.close()


async def test_an_image_from_a_media_server_that_answers_is_fetched_whole(
    media_server: MediaServer, matrix: MatrixIO
) -> None:
    data = await matrix.download(media_server.media("whole", len(IMAGE)), MAX_BYTES, TIMEOUT_S)
    assert data == IMAGE
    assert media_server.tokens == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("behaviour", ["stall-before-answering", "stall-mid-body"])
async def test_a_media_server_that_stalls_is_given_up_on_after_the_timeout(
    media_server: MediaServer, matrix: MatrixIO, behaviour: str
) -> None:
    started = time.monotonic()
    with pytest.raises(MatrixActionFailed) as failure:
        await asyncio.wait_for(
            matrix.download(media_server.media(behaviour, len(IMAGE)), MAX_BYTES, TIMEOUT_S),
            TIMEOUT_S + GRACE_S,
        )
    took = time.monotonic() - started
    assert TIMEOUT_S * 0.9 <= took < TIMEOUT_S + 2, f"gave up after {took:.1f} s"
    assert not isinstance(failure.value, MediaTooLarge)
    assert not failure.value.permanent  # a stall is a passing failure, not a refusal
    assert media_server.tokens, "the request never reached the media server"


async def test_a_media_server_that_keeps_sending_is_cut_off_at_the_limit_whatever_the_claimed_size(
    media_server: MediaServer, matrix: MatrixIO
) -> None:
    lie = media_server.media("endless", claimed_size=1234)
    with pytest.raises(MediaTooLarge):
        await asyncio.wait_for(matrix.download(lie, MAX_BYTES, timeout_s=30), GRACE_S)
    await asyncio.wait_for(media_server.cut_off.wait(), GRACE_S)  # the bot hung up
    # What the server managed to write is what the bot read plus what the kernel's socket
    # buffers hold on both ends (up to tens of MiB on loopback); a bot without the limit
    # would never hang up, and the waits above would time out.
    bound = MAX_BYTES + socket_buffer_ceiling()
    assert media_server.sent_bytes < bound, f"the server wrote {media_server.sent_bytes} bytes"


def socket_buffer_ceiling() -> int:
    """The most a TCP connection's send and receive buffers can hold on this machine."""
    total = 0
    for name in ("tcp_rmem", "tcp_wmem"):
        try:
            with open(f"/proc/sys/net/ipv4/{name}") as limits:
                total += int(limits.read().split()[2])
        except (OSError, IndexError, ValueError):
            total += 64 * 1024 * 1024  # not Linux: a generous ceiling
    return total + 1024 * 1024

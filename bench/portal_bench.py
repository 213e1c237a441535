"""The portal benchmark (issue 5): gallery page latency with 10,000 media posts in
#gallery, against the Synapse call the page is built on; and a 50 MB video upload
through the portal against the same upload straight to Synapse, with the portal's peak
memory."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import aiohttp
from PIL import Image

from bench.measure import Distribution, rss_mb
from bench.report import machine, write_section
from bench.stack import BENCH_OVERLAY, portal_stack
from common.synapse_admin import register_user
from tests.synapse_server import SynapseServer

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench passphrase 42"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def _fill_gallery(synapse: SynapseServer, token: str, room_id: str, posts: int) -> None:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(out, "PNG")
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {token}"}
        async with session.post(
            f"{synapse.url}/_matrix/media/v3/upload?filename=tile.png",
            data=out.getvalue(),
            headers={**auth, "Content-Type": "image/png"},
        ) as response:
            mxc = (await response.json())["content_uri"]
        semaphore = asyncio.Semaphore(8)

        async def post(i: int) -> None:
            content = {
                "msgtype": "m.image",
                "body": f"tile-{i}.png",
                "url": mxc,
                "info": {"mimetype": "image/png", "w": 32, "h": 32, "thumbnail_url": mxc},
            }
            async with (
                semaphore,
                session.put(
                    f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}",
                    json=content,
                    headers=auth,
                ) as response,
            ):
                assert response.status == 200, await response.text()

        await asyncio.gather(*(post(i) for i in range(posts)))


async def _timed_get(session: aiohttp.ClientSession, url: str, **kwargs: object) -> float:
    started = time.perf_counter()
    async with session.get(url, **kwargs) as response:  # type: ignore[arg-type]
        await response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


async def _measure(synapse: SynapseServer, portal_url: str, posts: int, rounds: int, video: Path):  # type: ignore[no-untyped-def]
    name = f"bencher{uuid.uuid4().hex[:6]}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        html = await (await browser.get(f"{portal_url}/signup")).text()
        token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
        async with browser.post(
            f"{portal_url}/signup",
            data={"username": name, "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token},
            headers={"Origin": portal_url},
            allow_redirects=False,
        ) as response:
            assert response.status == 303, await response.text()
        async with aiohttp.ClientSession() as admin:
            user = await register_user(admin, synapse.url, synapse.shared_secret, f"filler{name}", PASSWORD)
            room_id = synapse.provisioned.room_ids["gallery"]
            async with admin.post(
                f"{synapse.url}/_matrix/client/v3/join/{room_id}",
                json={},
                headers={"Authorization": f"Bearer {user.access_token}"},
            ):
                pass
        fill_started = time.perf_counter()
        await _fill_gallery(synapse, user.access_token, room_id, posts)
        fill_s = time.perf_counter() - fill_started

        raw_url = f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=60"
        auth = {"Authorization": f"Bearer {user.access_token}"}
        page, raw = [], []
        for i in range(rounds + 3):
            p = await _timed_get(browser, f"{portal_url}/gallery")
            r = await _timed_get(browser, raw_url, headers=auth)
            if i >= 3:
                page.append(p)
                raw.append(r)

        html = await (await browser.get(f"{portal_url}/gallery")).text()
        token = TOKEN.search(html).group(1)  # type: ignore[union-attr]
        cookie = "; ".join(f"{c.key}={c.value}" for c in browser.cookie_jar)
    size_mb = video.stat().st_size / 1024 / 1024
    through_portal = _curl_upload(
        f"{portal_url}/gallery/upload",
        [
            "-H",
            f"Cookie: {cookie}",
            "-H",
            f"X-CSRF-Token: {token}",
            "-H",
            f"Origin: {portal_url}",
            "-H",
            "Accept: application/json",
            "-F",
            f"files=@{video};type=video/mp4",
        ],
    )
    direct = _curl_upload(
        f"{synapse.url}/_matrix/media/v3/upload?filename=direct.mp4",
        [
            "-H",
            f"Authorization: Bearer {user.access_token}",
            "-H",
            "Content-Type: video/mp4",
            "--data-binary",
            f"@{video}",
        ],
    )
    return Distribution(page), Distribution(raw), fill_s, size_mb, through_portal, direct


def _curl_upload(url: str, args: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(["curl", "-s", "-f", "-o", "/dev/null", *args, url], check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"upload to {url} failed (curl exit {result.returncode})")
    return elapsed


def run(posts: int = 10_000, rounds: int = 50, video_mb: int = 50) -> str:
    overlay = {**BENCH_OVERLAY, "max_upload_size": "200M"}
    with portal_stack("bench-portal-", overlay, MAX_UPLOAD_MB="100") as stack:
        video = stack.data_dir / "video.mp4"
        with open(video, "wb") as out:
            out.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
            out.write(os.urandom(video_mb * 1024 * 1024))
        rss_start = rss_mb(stack.process.pid)
        page, raw, fill_s, size_mb, via_portal, direct = asyncio.run(
            _measure(stack.synapse, stack.url, posts, rounds, video)
        )
        peak = peak_rss_mb(stack.process.pid)
    body = f"""
## Portal (issue 5)

Machine: {machine()}.

Gallery page with {posts:,} media posts in `#gallery` (filled in {fill_s:.0f} s), {rounds} requests each, interleaved:

| measure | median | p90 |
|---|---|---|
| baseline: Synapse `/messages` (limit 60), the call the page is built on | {raw.median_ms:.1f} ms | {raw.p90_ms:.1f} ms |
| `GET /gallery` (first page, 30 tiles, rendered) | {page.median_ms:.1f} ms | {page.p90_ms:.1f} ms |

- Ratio page/baseline: {page.median_ms / raw.median_ms:.2f}× at the median, {page.p90_ms / raw.p90_ms:.2f}× at p90.
  The page reads only the newest events, so its cost does not grow with the size of the gallery.

Upload of a {size_mb:.0f} MB MP4:

| path | time | throughput |
|---|---|---|
| baseline: straight to Synapse's media API | {direct:.2f} s | {size_mb / direct:.0f} MB/s |
| through the portal (streamed to disk, checked, streamed to Synapse, posted) | {via_portal:.2f} s | {size_mb / via_portal:.0f} MB/s |

- Ratio portal/direct: {via_portal / direct:.2f}×.
- Portal memory: {rss_start:.0f} MB RSS at start, **peak {peak:.0f} MB** over the whole run, for a {size_mb:.0f} MB upload.
"""
    write_section("portal", body)
    return body


def main() -> None:
    print(run())


if __name__ == "__main__":
    main()

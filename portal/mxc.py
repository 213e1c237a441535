"""Matrix content URIs (`mxc://server/id`) as paths of the portal's media proxy."""

from __future__ import annotations


def media_path(mxc: str) -> str | None:
    """`mxc://server/id` → `/media/server/id`, or None for anything else."""
    if not mxc.startswith("mxc://"):
        return None
    server, _, media_id = mxc[6:].partition("/")
    return f"/media/{server}/{media_id}" if server and media_id and "/" not in media_id else None

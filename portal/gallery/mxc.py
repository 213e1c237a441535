"""Matrix content URIs (`mxc://server/id`) as paths of the portal's media proxy."""

from __future__ import annotations

from common.matrix_ids import parse_mxc


def media_path(mxc: object) -> str | None:
    """`mxc://server/id` → `/media/server/id`, or None unless both parts are well formed."""
    parsed = parse_mxc(mxc)
    return f"/media/{parsed[0]}/{parsed[1]}" if parsed else None

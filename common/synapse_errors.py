"""Synapse's answers, read in one place: JSON bodies, and errors turned into exception
classes by Matrix errcode (as mautrix-python does). The portal, the launcher and the
admin calls all read Synapse's answers through `answer_json`."""

from __future__ import annotations

from typing import Any

import aiohttp


class SynapseError(Exception):
    """Synapse answered with an error (`errcode`, `error`) or could not be reached."""

    def __init__(self, status: int, errcode: str, error: str, retry_after_ms: int | None = None) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error
        self.retry_after_ms = retry_after_ms


class UserInUse(SynapseError):
    """The requested username is already taken."""


class Forbidden(SynapseError):
    """Not allowed (M_FORBIDDEN): a wrong password, or no right to act in that room."""


class NotFound(SynapseError):
    """No such room, alias, event or user (M_NOT_FOUND, or HTTP 404)."""


class RateLimited(SynapseError):
    """Too many requests (M_LIMIT_EXCEEDED); `retry_after_ms` says how long to wait."""


class SessionEnded(SynapseError):
    """The access token is no longer valid (M_UNKNOWN_TOKEN, HTTP 401)."""


class AwaitingApproval(SynapseError):
    """The account exists but an admin has not approved it yet (MSC3866)."""


class Deactivated(SynapseError):
    """The account was deactivated (M_USER_DEACTIVATED)."""


class TooLarge(SynapseError):
    """An upload larger than the homeserver takes (M_TOO_LARGE, its `max_upload_size`)."""


class HomeserverUnavailable(SynapseError):
    """Synapse (or the proxy before it) failed or answered with something that is not JSON."""


_BY_ERRCODE: dict[str, type[SynapseError]] = {
    "M_USER_IN_USE": UserInUse,
    "M_FORBIDDEN": Forbidden,
    "M_NOT_FOUND": NotFound,
    "M_LIMIT_EXCEEDED": RateLimited,
    "M_UNKNOWN_TOKEN": SessionEnded,
    "M_MISSING_TOKEN": SessionEnded,
    "M_USER_AWAITING_APPROVAL": AwaitingApproval,  # the stable name, once MSC3866 lands
    "ORG.MATRIX.MSC3866_USER_AWAITING_APPROVAL": AwaitingApproval,  # what Synapse sends today
    "M_USER_DEACTIVATED": Deactivated,
    "M_TOO_LARGE": TooLarge,
}


def error_for(status: int, body: object) -> SynapseError:
    details: dict[str, Any] = body if isinstance(body, dict) else {}
    errcode = str(details.get("errcode", "M_UNKNOWN"))
    message = str(details.get("error", ""))
    retry = details.get("retry_after_ms")
    retry_after_ms = retry if isinstance(retry, int) and not isinstance(retry, bool) else None
    kind = _BY_ERRCODE.get(errcode)
    if kind is None:
        if status >= 500 or not details:
            kind = HomeserverUnavailable
        elif status == 404:
            kind = NotFound
        elif status == 401:
            kind = SessionEnded
        else:
            kind = SynapseError
    return kind(status, errcode, message, retry_after_ms)


async def answer_json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Synapse's JSON answer, or the SynapseError it stands for. A proxy's HTML error page
    (a 502 while Synapse restarts, say) is an error with its status, not a crash."""
    try:
        body = await response.json(content_type=None)
    except ValueError:
        body = None
    if response.status >= 400 or not isinstance(body, dict):
        status = response.status if response.status >= 400 else 502
        raise error_for(status, body)
    return body

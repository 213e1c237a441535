"""Request security: body limits, response headers, the client's address, and CSRF
protection (a per-session token in every form, plus an Origin check on every POST)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp_session import Session, get_session

from portal.app_keys import SETTINGS, USER
from portal.config import PortalSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Every body but an upload's is a small form or JSON call; aiohttp refuses larger ones
# while reading (`client_max_size`), and a declared larger one is refused unread.
FORM_BODY_LIMIT = 64 * 1024
MB = 1024 * 1024
# The routes that take files, and the largest body each takes: its files, and a margin
# for the form's other fields and the multipart framing.
UPLOAD_LIMITS: dict[str, Callable[[PortalSettings], int]] = {
    "/gallery/upload": lambda s: s.max_files_per_upload * (s.max_upload_mb + 1) * MB,
    "/knowledge/upload": lambda s: s.knowledge_max_bytes + MB,
}
UPLOAD_PATHS = frozenset(UPLOAD_LIMITS)
CSRF_PART_LIMIT = 1024
# The upload form's multipart reader, once its first part (the CSRF token) was read here.
MULTIPART = web.RequestKey("checked_multipart", MultipartReader)
FORM_READ_TIMEOUT_S = 30.0  # a form whose body stops arriving for this long is refused

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000"


def body_limit(request: web.Request) -> int:
    """The largest body `request`'s route takes."""
    upload_limit = UPLOAD_LIMITS.get(request.path)
    return FORM_BODY_LIMIT if upload_limit is None else upload_limit(request.app[SETTINGS])


@web.middleware
async def body_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a body larger than its route takes before reading any of it."""
    if request.body_exists:
        limit = body_limit(request)
        if (request.content_length or 0) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length or 0)
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
    if response.prepared:  # streamed responses set their own headers before sending
        return response
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if is_https(request):
        response.headers["Strict-Transport-Security"] = HSTS
    if request.get(USER) is not None:  # a logged-in person's pages stay out of every cache
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException):
        raise response
    return response


def is_https(request: web.Request) -> bool:
    """Served over HTTPS: directly, or behind a trusted proxy that says so."""
    if request.secure:
        return True
    remote = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    return forwarded == "https" and request.app[SETTINGS].is_trusted_proxy(remote)


def client_address(request: web.Request) -> str:
    """The browser's address (see `forwarded_client`)."""
    settings = request.app[SETTINGS]
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded_client(request.remote or "unknown", forwarded, settings.is_trusted_proxy)


def forwarded_client(remote: str, forwarded_for: str, is_trusted: Callable[[str], bool]) -> str:
    """Behind trusted reverse proxies, the last X-Forwarded-For address that is not one of
    them, so a client cannot choose its own by sending the header itself. Pure."""
    if not is_trusted(remote):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else remote


def csrf_token(session: Session) -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def _same_origin(request: web.Request) -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    parts = urlsplit(source)
    return parts.netloc == request.host


async def _sent_token(request: web.Request) -> str | None:
    """The token the request carries: a header (scripts), a form field, or the first part
    of a multipart form (the upload form, which puts its token before the files)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is not None:
        return sent
    if request.content_type == "application/x-www-form-urlencoded":
        return str((await request.post()).get(CSRF_FIELD, ""))
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != CSRF_FIELD:
            return None
        data = b""
        while not part.at_eof() and len(data) <= CSRF_PART_LIMIT:
            data += await part.read_chunk(CSRF_PART_LIMIT)
        if not part.at_eof():  # no token is this long: never buffer what follows
            return None
        request[MULTIPART] = reader
        return data.decode(errors="replace").strip()
    return None


FORM_STALLED = "The form stopped arriving, so it was dropped; send it again."


async def _read_form(request: web.Request) -> str | None:
    """A small body is read whole here (handlers then read it from memory); an upload's
    files stream later, under their own timeout. Returns the CSRF token sent."""
    if request.path not in UPLOAD_PATHS:
        await request.read()
    return await _sent_token(request)


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return await handler(request)
    if not _same_origin(request):
        raise web.HTTPForbidden(text="This form was sent from another site, so it was refused.")
    session = await get_session(request)
    expected = session.get(CSRF_FIELD)
    try:
        sent = await asyncio.wait_for(_read_form(request), FORM_READ_TIMEOUT_S)
    except TimeoutError:  # a sender that goes quiet mid-form does not hold the request open
        raise web.HTTPRequestTimeout(text=FORM_STALLED) from None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise web.HTTPForbidden(
            text="Your session expired or the form is stale. Reload the page and try again."
        )
    return await handler(request)

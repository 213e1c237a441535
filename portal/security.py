"""Request security: response headers, the client's address, and CSRF protection
(a per-session token in every form, plus an Origin check on every POST)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import Session, get_session

from portal.keys import SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


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
    if isinstance(response, web.HTTPException):
        raise response
    return response


def client_address(request: web.Request) -> str:
    """The browser's address; behind a trusted reverse proxy, from X-Forwarded-For."""
    remote = request.remote or "unknown"
    if remote in request.app[SETTINGS].trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return remote


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


@web.middleware
async def csrf_protection(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return await handler(request)
    if not _same_origin(request):
        raise web.HTTPForbidden(text="This form was sent from another site, so it was refused.")
    session = await get_session(request)
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type == "application/x-www-form-urlencoded":
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise web.HTTPForbidden(
            text="Your session expired or the form is stale. Reload the page and try again."
        )
    return await handler(request)

"""Every error a person meets is one of our pages: HTML with the site's navigation, theme
and language for pages, `{"error": ...}` JSON for the chat's API. Homeserver errors
become sentences here too (an expired login goes back to the login page with a note);
nothing reaches a person as aiohttp's default text or a traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from common.synapse_errors import Forbidden, NotFound, RateLimited, SessionEnded, SynapseError
from portal.app_keys import LOGINS, current_user

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TITLES = {
    400: "That request could not be used",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible here",
    413: "Too large",
    429: "Too many requests",
    500: "Something went wrong",
    502: "The chat server is unreachable",
    503: "Not available right now",
}
SENTENCES = {
    400: "The portal could not use what was sent. Go back, check the form and try again.",
    401: "Log in to see this page.",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address. Check the link, or start again from the home page.",
    405: "This address does not take that kind of request. Start again from the home page.",
    413: "What you sent is larger than the portal accepts. Send something smaller.",
    429: "You are doing that too often. Wait a minute and try again.",
    500: "The portal ran into a problem it did not expect. It has been logged; try again in a moment.",
    502: "The chat server is unreachable right now. Try again in a moment.",
    503: "This is not available right now. Try again in a moment.",
}
# aiohttp's own texts (`404: Not Found`) are replaced by the sentences above.
_DEFAULT_TEXT_PREFIXES = tuple(f"{status}: " for status in range(400, 600))


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/chat/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request: web.Request, status: int, message: str | None = None) -> web.Response:
    sentence = message or SENTENCES.get(status) or SENTENCES[500 if status >= 500 else 400]
    if wants_json(request):
        return web.json_response({"error": sentence}, status=status)
    title = TITLES.get(status) or TITLES[500 if status >= 500 else 400]
    context = {"status": status, "title": title, "sentence": sentence}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


def _own_text(error: web.HTTPException) -> str | None:
    """The sentence a view gave the error; None for aiohttp's own wording."""
    text = error.text or ""
    if (
        not text
        or text.startswith(_DEFAULT_TEXT_PREFIXES)
        or isinstance(error, web.HTTPRequestEntityTooLarge)
    ):
        return None
    return text


async def _login_ended(request: web.Request) -> web.StreamResponse:
    """The homeserver no longer takes this session's token: end the session, say so."""
    user = current_user(request)
    if user is not None:
        await request.app[LOGINS].forget(user.session_id)
    if wants_json(request):
        return web.json_response({"error": SESSION_ENDED}, status=401)
    raise web.HTTPSeeOther(f"/login?expired=1&next={quote(request.path_qs, safe='/')}")


SESSION_ENDED = "Your session ended. Log in again."


def _synapse_status(error: SynapseError) -> tuple[int, str | None]:
    """The one mapping of the homeserver's refusals to what people are told."""
    if isinstance(error, Forbidden):
        return 403, "You are not allowed to do that in this room."
    if isinstance(error, NotFound):
        return 404, "There is no such room, message or person."
    if isinstance(error, RateLimited):
        return 429, None
    if error.status >= 500:
        return 502, None
    return 400, error.error or "The chat server refused that."


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(request, error.status, _own_text(error))
    except SessionEnded:
        return await _login_ended(request)
    except SynapseError as error:
        status, message = _synapse_status(error)
        log.warning("%s %s: the homeserver answered %s", request.method, request.path, error)
        return error_response(request, status, message)
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("%s %s: the homeserver is unreachable (%s)", request.method, request.path, error)
        return error_response(request, 502)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(request, 500)

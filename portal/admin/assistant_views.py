"""The admin area's assistant pages: who may use the assistant, the daily quota, the
models people may pick (saved for the bot in the app database), and the usage figures:
answers, tokens and time in the model per person, room, model and day, with a chart.
Counts only: nothing said in a conversation is shown here."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from common.assistant_policy import ACCESS_MODES, AssistantAccess, Quota
from common.matrix_ids import is_room_id, is_user_id
from common.ollama_catalogue import OllamaUnavailable
from common.synapse_errors import SynapseError
from portal.accounts.logins import PortalUser
from portal.admin.usage_chart import bars
from portal.admin.views import admin_only, homeserver_admin_token, said, say
from portal.app_keys import ANSWERS, AUDIT, CATALOGUE, MATRIX, POLICY, SETTINGS, USAGE

MAX_LIMIT = 10_000_000
REPORT_DAYS = (7, 30, 90)


@admin_only
async def assistant_page(request: web.Request, user: PortalUser) -> web.StreamResponse:
    policy = await request.app[POLICY].read()
    try:
        names = await request.app[CATALOGUE].names()
        offline = False
    except OllamaUnavailable:
        names, offline = sorted(policy.allowed_models or ()), True
    context = {
        "access": policy.access,
        "modes": ACCESS_MODES,
        "quota": policy.quota,
        "models": [
            {"name": n, "allowed": policy.allowed_models is None or n in policy.allowed_models} for n in names
        ],
        "all_models": policy.allowed_models is None,
        "offline": offline,
        "note": await said(request),
        "errors": {},
    }
    return aiohttp_jinja2.render_template("admin_assistant.html", request, context)


def _limit(raw: object, what: str) -> int | None:
    text = str(raw or "").strip().replace(",", "").replace("_", "")
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise web.HTTPBadRequest(text=f"{what} must be a whole number from 1 to {MAX_LIMIT:,}, or empty.")
    return int(text)


def _people(raw: str, server_name: str) -> frozenset[str]:
    people = set()
    for line in raw.replace(",", "\n").splitlines():
        name = line.strip().lower()
        if not name:
            continue
        user_id = name if name.startswith("@") else f"@{name}:{server_name}"
        if not is_user_id(user_id):
            raise web.HTTPBadRequest(text=f"{line.strip()!r} is not a username or Matrix id.")
        people.add(user_id)
    return frozenset(people)


async def _rooms(request: web.Request, raw: str) -> frozenset[str]:
    """Room ids, from ids or aliases (`#club:server`) one per line; each must resolve."""
    rooms = set()
    for line in raw.replace(",", "\n").splitlines():
        name = line.strip()
        if not name:
            continue
        if is_room_id(name):
            rooms.add(name)
            continue
        if not name.startswith("#"):
            name = f"#{name}:{request.app[SETTINGS].server_name}"
        try:
            rooms.add(await request.app[MATRIX].resolve_alias(homeserver_admin_token(request.app), name))
        except SynapseError:
            raise web.HTTPBadRequest(text=f"There is no room {name} on this server.") from None
    return frozenset(rooms)


@admin_only
async def save_assistant(request: web.Request, user: PortalUser) -> web.StreamResponse:
    form = await request.post()
    mode = str(form.get("mode", "everyone"))
    if mode not in ACCESS_MODES:
        raise web.HTTPBadRequest(text="Choose who may use the assistant.")
    people = _people(str(form.get("people", "")), request.app[SETTINGS].server_name)
    rooms = await _rooms(request, str(form.get("rooms", "")))
    if mode == "people" and not people:
        raise web.HTTPBadRequest(text="Name at least one person, or let everyone use the assistant.")
    if mode == "rooms" and not rooms:
        raise web.HTTPBadRequest(text="Name at least one room, or let everyone use the assistant.")
    quota = Quota(_limit(form.get("answers"), "Answers a day"), _limit(form.get("tokens"), "Tokens a day"))
    allowed = None if form.get("all_models") else frozenset(str(m) for m in form.getall("model", []))
    if allowed is not None and not allowed:
        raise web.HTTPBadRequest(text="Allow at least one model, or all of them.")
    store = request.app[POLICY]
    await store.set_access(AssistantAccess(mode, people, rooms))
    await store.set_quota(quota)
    await store.set_allowed_models(allowed)
    detail = (
        f"access {mode} ({len(people)} people, {len(rooms)} rooms); "
        f"quota {quota.answers_per_day or 'no limit'} answers, {quota.tokens_per_day or 'no limit'} tokens; "
        f"models {'all' if allowed is None else ', '.join(sorted(allowed))}"
    )
    await request.app[AUDIT].record(user.user_id, "assistant settings", "assistant", detail)
    await say(request, "Saved. The assistant follows the new settings within a few seconds.")
    raise web.HTTPSeeOther("/admin/assistant")


@admin_only
async def usage_page(request: web.Request, user: PortalUser) -> web.StreamResponse:
    raw = request.query.get("days", "30")
    days = int(raw) if raw.isdigit() and int(raw) in REPORT_DAYS else 30
    report = await request.app[USAGE].report(days)
    feedback = await request.app[ANSWERS].feedback(report.since)
    context = {
        "report": report,
        "feedback": feedback,
        "days": days,
        "choices": REPORT_DAYS,
        "chart": bars(report.by_day),
    }
    return aiohttp_jinja2.render_template("admin_usage.html", request, context)


def add_routes(router: web.UrlDispatcher) -> None:
    """Every route here is an `admin_only` handler."""
    router.add_get("/admin/assistant", assistant_page)
    router.add_post("/admin/assistant", save_assistant)
    router.add_get("/admin/usage", usage_page)

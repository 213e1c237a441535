"""Accounts: sign-up (with Synapse's registration token), login, logout, the portal's
sessions (encrypted tokens, expiry) and the rules for names and passwords."""

from __future__ import annotations

from aiohttp import web

from portal.accounts import views


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/signup", views.signup_form)
    router.add_post("/signup", views.signup)
    router.add_get("/login", views.login_form)
    router.add_post("/login", views.login_view)
    router.add_post("/logout", views.logout)

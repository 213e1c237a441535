"""Accounts: sign-up (with Synapse's registration token), login, logout, the portal's
sessions (encrypted tokens, expiry) and the rules for names and passwords."""

from __future__ import annotations

from aiohttp import web


def add_routes(router: web.UrlDispatcher) -> None:
    # Imported here, so that importing the package for one of its modules (the login
    # store, say) never drags in the views and the app keys they import.
    from portal.accounts import views

    router.add_get("/signup", views.signup_form)
    router.add_post("/signup", views.signup)
    router.add_get("/login", views.login_form)
    router.add_post("/login", views.login_view)
    router.add_post("/logout", views.logout)

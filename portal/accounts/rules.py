"""Sign-up rules, as pure functions: Matrix localpart rules and password rules."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+$")
MIN_USERNAME, MAX_USERNAME = 3, 32
MIN_PASSWORD, MAX_PASSWORD = 8, 128


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def username_problem(username: str, reserved: set[str]) -> str | None:
    """Why `username` cannot be a Matrix localpart here, or None when it can."""
    if not MIN_USERNAME <= len(username) <= MAX_USERNAME:
        return f"Choose a username of {MIN_USERNAME} to {MAX_USERNAME} characters."
    if not LOCALPART.match(username):
        return "Use only lowercase letters, digits and . _ = - / +"
    if username.startswith("_"):
        return "A username cannot start with an underscore."
    if username.isdigit():
        return "A username cannot be only digits."
    if username in reserved:
        return "That username is reserved."
    return None


def password_problem(password: str, confirmation: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    if password.lower() in common_passwords():
        return "That password is one of the most common ones; choose another."
    if password != confirmation:
        return "The two passwords differ."
    return None

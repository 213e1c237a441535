"""Every sentence the bot says to people, in one place."""

from __future__ import annotations

AI_UNAVAILABLE = "Sorry, the AI service is unavailable right now. Please try again in a little while."
EMPTY_QUESTION = "Ask me something after the mention, for example: @{bot} what is Matrix?"

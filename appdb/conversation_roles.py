"""Who said a remembered message: the person, or the assistant. Pure constants."""

from __future__ import annotations

HUMAN = "human"
AI = "ai"

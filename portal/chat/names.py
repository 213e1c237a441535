"""What to call people in the chat so nobody can pass for someone else: a display name
that another member's name could be mistaken for (the same letters, other case, look-alike
letters from another alphabet, invisible characters), or that looks like a Matrix id, is
shown with the person's user id, as Element does. Pure: no I/O."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Mapping

# Letters of other alphabets that look like Latin ones (a few of the common ones).
_LOOK_ALIKES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b",
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "χ": "x", "υ": "u",
        "0": "o", "1": "l", "|": "l",
    }
)  # fmt: skip
_INVISIBLE = {"Cf", "Mn", "Zs", "Cc"}


def short_name(user_id: str) -> str:
    """What to call someone whose display name is not known: `@bob:server` → `bob`."""
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def skeleton(name: str) -> str:
    """What a name looks like: case, width, accents, invisible characters and look-alike
    letters folded away, so names that look the same have the same skeleton."""
    folded = unicodedata.normalize("NFKD", name).casefold()
    visible = "".join(ch for ch in folded if unicodedata.category(ch) not in _INVISIBLE)
    return visible.translate(_LOOK_ALIKES)


def labels(members: Mapping[str, str]) -> dict[str, str]:
    """user id → what to show: the display name alone where it is unmistakable, else the
    display name with the user id."""
    by_look: dict[str, set[str]] = defaultdict(set)
    for user_id, name in members.items():
        by_look[skeleton(name or short_name(user_id))].add(user_id)
        by_look[skeleton(short_name(user_id))].add(user_id)  # a name may imitate someone's id
    shown: dict[str, str] = {}
    for user_id, name in members.items():
        name = name or short_name(user_id)
        ambiguous = len(by_look[skeleton(name)]) > 1 or "@" in name or ":" in name
        shown[user_id] = f"{name} ({user_id})" if ambiguous else name
    return shown

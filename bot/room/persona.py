"""A room's persona: the prompt its moderators chose with `!persona`, kept as the room
state event `local.assistant.persona` (visible and audited like any room setting, and
settable from any client). Read from the homeserver and kept for a while; a change the
bot's sync sees (from any client) is read again at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot import strings
from bot.formatting import defuse_mentions
from bot.matrix_io import MatrixActionFailed, MatrixIO
from common.room_persona import PERSONA_EVENT_TYPE, Persona, persona_from_event

log = logging.getLogger(__name__)

PERSONA_MAX_CHARS = 1000
KEEP_S = 300.0
RESET_WORDS = frozenset({"reset", "off", "clear", "none"})


class Personas:
    def __init__(
        self, matrix: MatrixIO, bot_user_id: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._matrix = matrix
        self._bot = bot_user_id
        self._clock = clock
        self._held: dict[str, tuple[float, Persona | None]] = {}

    async def of(self, room_id: str) -> Persona | None:
        """The room's persona, or None."""
        held = self._held.get(room_id)
        if held is not None and self._clock() - held[0] < KEEP_S:
            return held[1]
        content = await self._matrix.state(room_id, PERSONA_EVENT_TYPE)
        prompt = content.get("prompt") if content else None
        setter = content.get("set_by") if content else None
        persona = (
            Persona(prompt.strip()[:PERSONA_MAX_CHARS], setter if isinstance(setter, str) else None)
            if isinstance(prompt, str) and prompt.strip()
            else None
        )
        self._held[room_id] = (self._clock(), persona)
        return persona

    def changed(self, room_id: str) -> None:
        """The room's persona event changed (seen in the sync): read it again next time."""
        self._held.pop(room_id, None)

    async def command(self, user_id: str, room_id: str, argument: str) -> str:
        """`!persona` (show), `!persona reset`, `!persona <text>`."""
        wanted = argument.strip()
        if not wanted:
            # Who set it: the sender the homeserver vouches for (the person the bot names
            # when the bot wrote it); a `set_by` written by anyone else is only a claim.
            event = (await self._matrix.state_events(room_id, PERSONA_EVENT_TYPE)).get(PERSONA_EVENT_TYPE)
            persona = persona_from_event(event, self._bot)
            if persona is None:
                return strings.PERSONA_NONE
            quoted = "\n> ".join(defuse_mentions(persona.prompt[:PERSONA_MAX_CHARS]).splitlines())
            return strings.PERSONA_SHOW.format(prompt=quoted, by=persona.set_by or "a moderator")
        if len(wanted) > PERSONA_MAX_CHARS:
            return strings.PERSONA_TOO_LONG.format(limit=PERSONA_MAX_CHARS, length=len(wanted))
        power = await self._matrix.power(room_id)
        if not power.may_send_state(user_id, PERSONA_EVENT_TYPE):
            return strings.PERSONA_NOT_ALLOWED
        reset = wanted.lower() in RESET_WORDS
        content = {} if reset else {"prompt": wanted, "set_by": user_id}
        try:
            await self._matrix.put_state(room_id, PERSONA_EVENT_TYPE, content)
        except MatrixActionFailed as error:
            if not error.permanent:
                raise
            log.warning("could not set the persona of %s: %s", room_id, error)
            return strings.PERSONA_BOT_NOT_ALLOWED.format(event_type=PERSONA_EVENT_TYPE)
        self.changed(room_id)
        return strings.PERSONA_RESET if reset else strings.PERSONA_SET

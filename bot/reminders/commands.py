"""`!timezone` (the person's time zone, or with `room` the room's, set by its moderators),
`!reminders` (the room's reminders, numbered, soonest first) and `!cancel <n>` (by the
person who set it, or a moderator: whoever may remove others' messages)."""

from __future__ import annotations

import time
from collections.abc import Callable

from appdb.reminders import ReminderStore
from bot import strings
from bot.formatting import code_span
from bot.matrix_io import MatrixIO
from bot.reminders.messages import instant, reminder_words, stored_schedule
from bot.reminders.setter import DEFAULT_ZONE
from bot.reminders.timing import zone_name

# The room's time zone is one of its settings: who may set room state of this (our own)
# type may set it, which is `state_default` unless the room's power levels name the type.
ROOM_ZONE_STATE = "local.assistant.time_zone"
OFF_WORDS = frozenset({"off", "none", "reset", "clear"})


class ReminderCommands:
    def __init__(
        self,
        store: ReminderStore,
        matrix: MatrixIO,
        name: Callable[[str, str], str],
        bot_localpart: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._matrix = matrix
        self._name = name  # (room, user) → how the room knows them
        self._bot = bot_localpart
        self._clock = clock

    async def timezone(self, user_id: str, room_id: str, argument: str) -> str:
        word, _, rest = argument.strip().partition(" ")
        if word.lower() == "room":
            return await self._room_zone(user_id, room_id, rest.strip())
        wanted = argument.strip()
        if not wanted:
            zone = await self._store.person_zone(user_id)
            default = "" if zone else strings.TIMEZONE_DEFAULT
            return strings.TIMEZONE_YOURS.format(zone=zone or DEFAULT_ZONE, default=default)
        if wanted.lower() in OFF_WORDS:
            await self._store.set_person_zone(user_id, None)
            return strings.TIMEZONE_CLEARED
        if (zone := zone_name(wanted)) is None:
            return strings.TIMEZONE_UNKNOWN.format(zone=code_span(wanted))
        await self._store.set_person_zone(user_id, zone)
        return strings.TIMEZONE_SET.format(zone=zone)

    async def _room_zone(self, user_id: str, room_id: str, wanted: str) -> str:
        if not wanted:
            current = await self._store.room_zone(room_id)
            if current is None:
                return strings.TIMEZONE_ROOM_NONE
            return strings.TIMEZONE_ROOM.format(zone=current[0], name=self._name(room_id, current[1]))
        off = wanted.lower() in OFF_WORDS
        zone = None if off else zone_name(wanted)
        if not off and zone is None:
            return strings.TIMEZONE_UNKNOWN.format(zone=code_span(wanted))
        if not (await self._matrix.power(room_id)).may_send_state(user_id, ROOM_ZONE_STATE):
            return strings.TIMEZONE_ROOM_REFUSED
        await self._store.set_room_zone(room_id, zone, user_id)
        return strings.TIMEZONE_ROOM_SET.format(zone=zone) if zone else strings.TIMEZONE_ROOM_CLEARED

    async def listing(self, room_id: str) -> str:
        reminders = await self._store.in_room(room_id)
        if not reminders:
            return strings.REMINDERS_NONE.format(bot=self._bot)
        now = instant(int(self._clock() * 1000))
        lines = [strings.REMINDERS_HEADER]
        for number, reminder in enumerate(reminders, 1):
            lines.append(
                strings.REMINDERS_LINE.format(
                    number=number,
                    schedule=stored_schedule(reminder, now),
                    text=reminder_words(reminder.text),
                    name=self._name(room_id, reminder.author),
                )
            )
        return "\n".join(lines)

    async def cancel(self, user_id: str, room_id: str, argument: str) -> str:
        wanted = argument.strip().lstrip("#")
        if not wanted.isdigit():
            return strings.CANCEL_USAGE
        reminders = await self._store.in_room(room_id)
        number = int(wanted)
        if not 1 <= number <= len(reminders):
            return strings.CANCEL_NO_SUCH.format(number=number, count=len(reminders))
        reminder = reminders[number - 1]
        if reminder.author != user_id and not (await self._matrix.power(room_id)).may_redact_others(user_id):
            return strings.CANCEL_NOT_YOURS.format(number=number)
        await self._store.cancel(room_id, reminder.id)
        schedule = stored_schedule(reminder, instant(int(self._clock() * 1000)))
        return strings.CANCEL_DONE.format(schedule=schedule, text=reminder_words(reminder.text))

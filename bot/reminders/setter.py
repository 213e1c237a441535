"""A reminder set: `@bot remind us friday 18:00 to bring the chairs`. The person's model
reads the sentence (through the model writer's fair queue, shown to nobody); pure code
computes the instants in the time zone that applies; the reminder is stored, the
scheduler woken, and the person told what was set, or why not.

Setting is idempotent: the reminder is keyed by the message that set it, so a job
resumed after a crash finds it and only repeats the confirmation (same transaction id)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from appdb.reminders import Caps, Full, NewReminder, ReminderStore, StoredReminder
from bot import strings
from bot.assistant_gate import AssistantGate
from bot.ledger import EventLedger
from bot.matrix_io import MatrixIO
from bot.model_writer import ModelWriter
from bot.reminders.messages import instant, reminder_words, stored_schedule
from bot.reminders.request import ReminderRequest, parse_request, reminder_prompt
from bot.reminders.timing import Plan, Refusal, plan, zone_or_utc
from bot.values import ReplyTarget
from common.model_choice import ModelChoice

DEFAULT_ZONE = "UTC"


async def zone_for(store: ReminderStore, who: str, user_id: str, room_id: str) -> str:
    """The zone a reminder is computed in. For "remind us": the room's, else the asker's;
    for "remind me": the asker's, else the room's; UTC when neither was chosen."""
    person, room = await store.person_zone(user_id), await store.room_zone(room_id)
    room_zone = room[0] if room else None
    first, second = (room_zone, person) if who == "us" else (person, room_zone)
    return first or second or DEFAULT_ZONE


class ReminderSetter:
    def __init__(
        self,
        store: ReminderStore,
        caps: Caps,
        models: ModelChoice,
        writer: ModelWriter,
        matrix: MatrixIO,
        gate: AssistantGate,
        ledger: EventLedger,
        wake: Callable[[], None],
        bot_localpart: str,
    ) -> None:
        self._store = store
        self._caps = caps
        self._models = models
        self._writer = writer
        self._matrix = matrix
        self._gate = gate
        self._ledger = ledger
        self._wake = wake
        self._bot = bot_localpart

    async def set(self, target: ReplyTarget, sentence: str, said_ms: int) -> None:
        """Raises the model tier's failures (ModelUnavailable): the dispatcher says so."""
        if (refusal := await self._gate.refusal(target.asker)) is not None:
            await self._matrix.notice(target, refusal, "refused")
            return
        if (existing := await self._store.by_event(target.event_id)) is not None:
            await self._confirm(target, existing, said_ms)  # resumed after a crash
            return
        if (full := await self._full(target)) is not None:
            await self._matrix.notice(target, full, "reminder")
            return
        model = await self._models.current(target.asker)
        written = await self._writer.collect(target, model, reminder_prompt(sentence))
        count = self._gate.count(target.asker, target.room_id, model, written.spent)
        reading = await self._read(target, written.visible, said_ms)
        if isinstance(reading, str):  # unclear, in the past, too far
            await self._matrix.notice(target, reading, "reminder")
            await self._ledger.complete_with(target.event_id, count)
            return
        new = self._new(target, sentence, *reading, said_ms)
        stored = await self._store.add(new, self._caps, count)
        if isinstance(stored, Full):
            await self._matrix.notice(target, self._full_text(stored), "reminder")
            return
        self._wake()
        await self._confirm(target, stored, said_ms)

    async def _read(
        self, target: ReplyTarget, answer: str, said_ms: int
    ) -> tuple[ReminderRequest, Plan, ZoneInfo] | str:
        """The model's answer read, and the instants computed; or what to tell the person."""
        request = parse_request(answer)
        if request is None:
            return self._refusal_text(Refusal.UNCLEAR, None, ZoneInfo(DEFAULT_ZONE))
        who = self._who(request, target)
        zone = zone_or_utc(await zone_for(self._store, who, target.asker, target.room_id))
        outcome = plan(request, instant(said_ms), zone)
        if isinstance(outcome, Refusal):
            return self._refusal_text(outcome, request, zone)
        return request, outcome, zone

    def _who(self, request: ReminderRequest, target: ReplyTarget) -> str:
        """Unsaid: "me" in a direct chat, "us" in a group room."""
        return request.who or ("me" if self._matrix.is_direct(target.room_id) else "us")

    def _new(
        self,
        target: ReplyTarget,
        sentence: str,
        request: ReminderRequest,
        planned: Plan,
        zone: ZoneInfo,
        said_ms: int,
    ) -> NewReminder:
        return NewReminder(
            event_id=target.event_id,
            room_id=target.room_id,
            author=target.asker,
            text=" ".join(request.text.split()) or " ".join(sentence.split()),
            mention=self._who(request, target) == "me",
            rule=planned.rule.encode() if planned.rule else None,
            time_zone=zone.key,
            due_ms=int(planned.due.timestamp() * 1000),
            created_ms=said_ms,
        )

    async def _full(self, target: ReplyTarget) -> str | None:
        """Why the room or the person can have no more reminders (checked before the model
        is asked; `add` checks again in its transaction)."""
        in_room, by_person = await self._store.counts(target.room_id, target.asker)
        if in_room >= self._caps.per_room:
            return self._full_text(Full.ROOM)
        return self._full_text(Full.PERSON) if by_person >= self._caps.per_person else None

    def _full_text(self, full: Full) -> str:
        if full is Full.ROOM:
            return strings.REMINDER_ROOM_FULL.format(limit=self._caps.per_room)
        return strings.REMINDER_PERSON_FULL.format(limit=self._caps.per_person)

    def _refusal_text(self, outcome: Refusal, request: ReminderRequest | None, zone: ZoneInfo) -> str:
        if outcome is Refusal.PAST and request is not None:
            return strings.REMINDER_PAST.format(when=_asked_time(request, zone))
        if outcome is Refusal.TOO_FAR:
            return strings.REMINDER_TOO_FAR
        examples = strings.REMINDER_EXAMPLES.format(bot=self._bot)
        return strings.REMINDER_UNCLEAR.format(examples=examples)

    async def _confirm(self, target: ReplyTarget, reminder: StoredReminder, said_ms: int) -> None:
        whom = strings.REMINDER_WHOM_ME if reminder.mention else strings.REMINDER_WHOM_US
        schedule = stored_schedule(reminder, instant(said_ms))
        text = strings.REMINDER_SET.format(whom=whom, schedule=schedule, text=reminder_words(reminder.text))
        await self._matrix.notice(target, text, "reminder")


def _asked_time(request: ReminderRequest, zone: ZoneInfo) -> str:
    """The past time as the person named it (a date and a clock time, or a delay)."""
    named = " ".join(part for part in (request.date, request.day, request.time) if part)
    return f"{named} ({zone.key})" if named else zone.key

"""Tables shared by the bot and the portal."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EVENT_PENDING = "pending"
EVENT_DONE = "done"
EVENT_SKIPPED = "skipped"  # an event the bot could not act on (malformed): never retried


class Base(DeclarativeBase):
    pass


class UserSettings(Base):
    """Per-user preferences: the model the bot uses for them."""

    __tablename__ = "user_settings"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    model: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ConversationMessage(Base):
    """One message of a user's conversation with the bot in one room."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_conversation_user_room_id", "user_id", "room_id", "id"),)


class BotEvent(Base):
    """A message the bot has taken on: what to do (`job`, JSON) and whether it is done.

    Recorded before the sync position moves on, so a crash never drops a question, and
    checked on arrival, so no question is answered twice.
    """

    __tablename__ = "bot_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    job: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EVENT_PENDING)
    received_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_bot_events_status_received", "status", "received_ms"),)


class PortalLogin(Base):
    """A portal session's Matrix login, kept on the server: the browser's encrypted
    session cookie holds only `session_id`. The access token is stored encrypted with a
    key only the portal holds; the session ends when idle or old (see portal.accounts.logins)."""

    __tablename__ = "portal_logins"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    access_token: Mapped[str] = mapped_column(String(512))  # encrypted
    device_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PortalUpload(Base):
    """One file a person shared through the portal, counted for the daily cap."""

    __tablename__ = "portal_uploads"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    user_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_portal_uploads_user_created", "user_id", "created_at"),)


class ServiceHeartbeat(Base):
    """A service's own word on whether it is ready (the bot: joined and synced), read by
    the portal's readiness check, so containers that share no files can still tell."""

    __tablename__ = "service_heartbeats"

    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    ready: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PortalAdmin(Base):
    """A person who may use the portal's admin area (besides those in ADMIN_USERS).
    A role of this platform, not Synapse's server-admin flag: it gives no power in Matrix."""

    __tablename__ = "portal_admins"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(255))  # an admin, or "first account"
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FirstAdminClaim(Base):
    """At most one row, ever: the account that became admin as the server's first. Its
    primary key makes two first sign-ups at once (in any number of portals) make one."""

    __tablename__ = "first_admin_claim"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(255))


class AuditEntry(Base):
    """One admin action (who did what to whom, when); only admins can read the log."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")


class PlatformSetting(Base):
    """A setting admins change in the portal and the bot follows (who may use the
    assistant, the daily quota, the models people may pick): JSON under a key."""

    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class UsageRollup(Base):
    """What the assistant did on one day (UTC) for one person, in one room, or with one
    model (`dimension`: "person", "room" or "model"): answers, tokens in and out, time in
    the model. Counts only, never content. One row per day and key in each dimension, so
    a 30-day report reads at most 30 × people rows, whatever the number of answers."""

    __tablename__ = "usage_rollup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    questions: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    model_ms: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_usage_rollup_dimension_day", "dimension", "day"),)


KNOWLEDGE_QUEUED = "queued"
KNOWLEDGE_INDEXING = "indexing"
KNOWLEDGE_READY = "ready"
KNOWLEDGE_FAILED = "failed"


class KnowledgeFile(Base):
    """A file posted in a room, as the room's knowledge: its message (`event_id`), who
    posted it, and how far indexing got (queued, indexing, ready or failed, with the
    reason in plain words)."""

    __tablename__ = "knowledge_files"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    uploader: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(127))
    state: Mapped[str] = mapped_column(String(16), default=KNOWLEDGE_QUEUED)
    reason: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    posted_ms: Mapped[int] = mapped_column(BigInteger)
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # percent, while indexing


class KnowledgeChunk(Base):
    """One piece of a file's text and its embedding (float32, little-endian, normalised).
    `room_id` is the file's, kept here so a search reads one room's chunks only."""

    __tablename__ = "knowledge_chunks"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    file_event_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("knowledge_files.event_id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(255))  # "page 3", "section Setup"
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_knowledge_chunks_room_id", "room_id", "id"),)


class KnowledgeSource(Base):
    """The room whose knowledge a person's direct chat with the bot answers from, chosen
    with `!use #room` (`room_id` is the direct chat, `source_room_id` the named room)."""

    __tablename__ = "knowledge_sources"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    source_room_id: Mapped[str] = mapped_column(String(255))
    source_name: Mapped[str] = mapped_column(String(255))


class RoomNote(Base):
    """A fact the room asked the assistant to remember (`!remember`), for that room only."""

    __tablename__ = "room_notes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    room_id: Mapped[str] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_room_notes_room_id", "room_id", "id"),)


class BotAnswer(Base):
    """One of the bot's answers (its message), with the question it answered, so a
    reaction on it can have it answered again (🔁) or continued (⏩)."""

    __tablename__ = "bot_answers"

    answer_event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    question_event_id: Mapped[str] = mapped_column(String(255))
    asker: Mapped[str] = mapped_column(String(255))
    thread_root: Mapped[str | None] = mapped_column(String(255), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(String(255))
    stopped_at_length: Mapped[bool] = mapped_column(Boolean)
    created_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class AnswerFeedback(Base):
    """👍 (+1) or 👎 (-1) from one person on one answer: counted for the admins, per day
    and model; the answer's words are not kept here."""

    __tablename__ = "answer_feedback"

    answer_event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)


REMINDER_ACTIVE = "active"  # waiting for its next due instant
REMINDER_SENDING = "sending"  # claimed: its due firing may have been posted; resent with the same txn
REMINDER_DONE = "done"  # a one-off posted, or cancelled: kept a while so a resumed job finds it


class Reminder(Base):
    """A reminder the bot posts in its room at `next_due_ms` (UTC); a recurring one keeps
    its rule and moves to its next instant once posted. `event_id`, the message that set
    it, makes setting it idempotent (a resumed job finds it)."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    mention: Mapped[bool] = mapped_column(Boolean)  # "remind me": the author is mentioned
    rule: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: once
    time_zone: Mapped[str] = mapped_column(String(64))
    next_due_ms: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ux_reminders_event_id", "event_id", unique=True),
        Index("ix_reminders_state_due", "state", "next_due_ms"),
        Index("ix_reminders_room_id", "room_id", "next_due_ms"),
        Index("ix_reminders_author", "author"),
    )


class PersonTimeZone(Base):
    """The time zone a person chose with `!timezone` (IANA name)."""

    __tablename__ = "person_time_zones"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))


class RoomTimeZone(Base):
    """The time zone a room's moderator chose with `!timezone room` (IANA name)."""

    __tablename__ = "room_time_zones"

    room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[str] = mapped_column(String(255))

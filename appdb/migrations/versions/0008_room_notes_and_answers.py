"""Shared room notes (`!remember`), and the bot's answers with what they answered (so a
reaction on an answer can ask again or continue it) and the feedback they got.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_notes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_room_notes_room_id", "room_notes", ["room_id", "id"])
    op.create_table(
        "bot_answers",
        sa.Column("answer_event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("question_event_id", sa.String(255), nullable=False),
        sa.Column("asker", sa.String(255), nullable=False),
        sa.Column("thread_root", sa.String(255), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("stopped_at_length", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_bot_answers_created_ms", "bot_answers", ["created_ms"])
    op.create_table(
        "answer_feedback",
        sa.Column("answer_event_id", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("rating", sa.Integer(), nullable=False),  # +1 or -1
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("answer_feedback")
    op.drop_index("ix_bot_answers_created_ms", "bot_answers")
    op.drop_table("bot_answers")
    op.drop_index("ix_room_notes_room_id", "room_notes")
    op.drop_table("room_notes")

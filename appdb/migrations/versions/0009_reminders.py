"""Reminders (`@bot remind us friday 18:00 …`) with their next due instant, and the time
zones people and rooms chose with `!timezone`.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mention", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(64), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("next_due_ms", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ux_reminders_event_id", "reminders", ["event_id"], unique=True)
    op.create_index("ix_reminders_state_due", "reminders", ["state", "next_due_ms"])
    op.create_index("ix_reminders_room_id", "reminders", ["room_id", "next_due_ms"])
    op.create_index("ix_reminders_author", "reminders", ["author"])
    op.create_table(
        "person_time_zones",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
    )
    op.create_table(
        "room_time_zones",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("set_by", sa.String(255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_time_zones")
    op.drop_table("person_time_zones")
    op.drop_index("ix_reminders_author", "reminders")
    op.drop_index("ix_reminders_room_id", "reminders")
    op.drop_index("ix_reminders_state_due", "reminders")
    op.drop_index("ux_reminders_event_id", "reminders")
    op.drop_table("reminders")

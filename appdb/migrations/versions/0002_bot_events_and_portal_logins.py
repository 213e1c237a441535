"""The bot's event ledger and the portal's server-side logins.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_bot_events_status_received", "bot_events", ["status", "received_ms"])
    op.create_table(
        "portal_logins",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("access_token", sa.String(512), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_portal_logins_user_id", "portal_logins", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_logins_user_id", "portal_logins")
    op.drop_table("portal_logins")
    op.drop_index("ix_bot_events_status_received", "bot_events")
    op.drop_table("bot_events")

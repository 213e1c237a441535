"""Platform settings admins change (assistant access, quotas, allowed models) and the
assistant's usage per day, rolled up per person, per room and per model.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "usage_rollup",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("dimension", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("questions", sa.BigInteger(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("model_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_usage_rollup_dimension_day", "usage_rollup", ["dimension", "day"])


def downgrade() -> None:
    op.drop_index("ix_usage_rollup_dimension_day", "usage_rollup")
    op.drop_table("usage_rollup")
    op.drop_table("platform_settings")

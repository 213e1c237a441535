"""Portal logins get a last-seen time (idle expiry) and encrypted tokens; uploads are
counted per person; services report readiness.

Existing portal logins hold plain-text tokens, which the new code does not read: they
are deleted, so everyone logs in to the portal once more after this upgrade.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM portal_logins")
    with op.batch_alter_table("portal_logins") as batch:
        batch.add_column(
            sa.Column(
                "last_seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
            )
        )
    op.create_table(
        "portal_uploads",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_portal_uploads_user_created", "portal_uploads", ["user_id", "created_at"])
    op.create_table(
        "service_heartbeats",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_heartbeats")
    op.drop_index("ix_portal_uploads_user_created", "portal_uploads")
    op.drop_table("portal_uploads")
    with op.batch_alter_table("portal_logins") as batch:
        batch.drop_column("last_seen_at")

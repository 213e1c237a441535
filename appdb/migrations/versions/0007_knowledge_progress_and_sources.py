"""A file's indexing progress, and the room whose knowledge a person's direct chat with
the bot uses (`!use #room`).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("knowledge_files") as batch:
        batch.add_column(sa.Column("progress", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "knowledge_sources",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("source_room_id", sa.String(255), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("knowledge_sources")
    with op.batch_alter_table("knowledge_files") as batch:
        batch.drop_column("progress")

"""A room's knowledge: the files posted in it, and their chunks with embeddings.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "knowledge_files",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("uploader", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("mimetype", sa.String(127), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("posted_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_knowledge_files_room_id", "knowledge_files", ["room_id"])
    op.create_table(
        "knowledge_chunks",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column(
            "file_event_id",
            sa.String(255),
            sa.ForeignKey("knowledge_files.event_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_knowledge_chunks_file_event_id", "knowledge_chunks", ["file_event_id"])
    op.create_index("ix_knowledge_chunks_room_id", "knowledge_chunks", ["room_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_knowledge_chunks_room_id", "knowledge_chunks")
    op.drop_index("ix_knowledge_chunks_file_event_id", "knowledge_chunks")
    op.drop_table("knowledge_chunks")
    op.drop_index("ix_knowledge_files_room_id", "knowledge_files")
    op.drop_table("knowledge_files")

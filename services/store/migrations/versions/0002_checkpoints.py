"""Checkpoints with their per-subtask state sizes; the checkpoint a job was restored from;
how many completed checkpoints a pipeline's jobs keep.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("start_time", sa.Double(), nullable=False),
        sa.Column("finish_time", sa.Double(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_checkpoints_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoints"),
        sa.UniqueConstraint("job_id", "epoch", name="uq_checkpoints_job_id_epoch"),
    )
    op.create_table(
        "checkpoint_subtask_states",
        sa.Column("checkpoint_id", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.String(128), nullable=False),
        sa.Column("subtask_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name="fk_checkpoint_subtask_states_checkpoint_id_checkpoints",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "checkpoint_id", "operator_id", "subtask_index", name="pk_checkpoint_subtask_states"
        ),
    )
    # Plain ADD COLUMN (nullable or with a default) works in place on both backends.
    op.add_column("jobs", sa.Column("restore_checkpoint_id", sa.String(64), nullable=True))
    op.add_column(
        "pipelines",
        sa.Column("checkpoints_retained", sa.Integer(), server_default="5", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("pipelines") as batch:
        batch.drop_column("checkpoints_retained")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("restore_checkpoint_id")
    op.drop_table("checkpoint_subtask_states")
    op.drop_table("checkpoints")

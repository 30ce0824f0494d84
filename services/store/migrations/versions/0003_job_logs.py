"""Job log entries and job errors, each bounded per job by count and age (see job_log_store).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common_columns(table: str) -> list[sa.Column[object] | sa.Constraint]:
    return [
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("operator_id", sa.String(128), nullable=False),
        sa.Column("task_index", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=f"fk_{table}_job_id_jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table("job_logs", *_common_columns("job_logs"), sa.Column("details", sa.JSON(), nullable=False))
    op.create_table(
        "job_errors",
        *_common_columns("job_errors"),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
    )
    for table in ("job_logs", "job_errors"):
        op.create_index(f"ix_{table}_job_id_timestamp_id", table, ["job_id", "timestamp", "id"])
        op.create_index(f"ix_{table}_timestamp", table, ["timestamp"])


def downgrade() -> None:
    op.drop_table("job_errors")
    op.drop_table("job_logs")

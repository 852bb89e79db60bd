"""library photos remember their file's size and modification time, so a rerun skips unchanged files

Revision ID: 0004
Revises: 0003

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("library_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source_mtime_ns", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("library_photos", schema=None) as batch_op:
        batch_op.drop_column("source_mtime_ns")
        batch_op.drop_column("source_size")

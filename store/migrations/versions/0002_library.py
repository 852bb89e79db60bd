"""the photo library: library photos and their tags

Revision ID: 0002
Revises: 0001

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("phash", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("date_source", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("altitude", sa.Float(), nullable=True),
        sa.Column("camera_make", sa.String(length=64), nullable=True),
        sa.Column("camera_model", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=128), nullable=True),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("objects", sa.JSON(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("exif", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("library_photos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_library_photos_city_lower", [sa.text("lower(city)")], unique=False
        )
        batch_op.create_index(
            "ix_library_photos_country_lower", [sa.text("lower(country)")], unique=False
        )
        batch_op.create_index(batch_op.f("ix_library_photos_group_id"), ["group_id"], unique=False)
        batch_op.create_index("ix_library_photos_label_taken", ["label", "taken_at"], unique=False)
        batch_op.create_index(
            "ix_library_photos_position", ["latitude", "longitude", "taken_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_library_photos_shared"), ["shared"], unique=False)
        batch_op.create_index("ix_library_photos_taken", ["taken_at", "id"], unique=False)

    op.create_table(
        "library_tags",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("proba", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["photo_id"], ["library_photos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("photo_id", "tag"),
    )
    with op.batch_alter_table("library_tags", schema=None) as batch_op:
        batch_op.create_index("ix_library_tags_tag", ["tag", "photo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("library_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_library_tags_tag")

    op.drop_table("library_tags")
    with op.batch_alter_table("library_photos", schema=None) as batch_op:
        batch_op.drop_index("ix_library_photos_taken")
        batch_op.drop_index(batch_op.f("ix_library_photos_shared"))
        batch_op.drop_index("ix_library_photos_position")
        batch_op.drop_index("ix_library_photos_label_taken")
        batch_op.drop_index(batch_op.f("ix_library_photos_group_id"))
        batch_op.drop_index("ix_library_photos_country_lower")
        batch_op.drop_index("ix_library_photos_city_lower")

    op.drop_table("library_photos")

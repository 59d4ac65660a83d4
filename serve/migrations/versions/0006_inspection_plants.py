"""Several plants or patches per inspection (issue 13): ``inspection_plants`` (count, area,
growth stage) and the plant each photo shows (``inspection_photos.plant``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
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
        "inspection_plants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("inspection_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("growth_stage", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_plants_inspection_id_inspections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plants")),
        sa.UniqueConstraint("inspection_id", "position", name="uq_inspection_plants_position"),
    )
    op.create_index(
        op.f("ix_inspection_plants_inspection_id"),
        "inspection_plants",
        ["inspection_id"],
        unique=False,
    )
    with op.batch_alter_table("inspection_photos") as batch:
        batch.add_column(sa.Column("plant", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspection_photos") as batch:
        batch.drop_column("plant")
    op.drop_index(op.f("ix_inspection_plants_inspection_id"), table_name="inspection_plants")
    op.drop_table("inspection_plants")

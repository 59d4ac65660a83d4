"""Public tip-offs: tips and their photos, apart from inspections (issue 15).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed_at_source", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=16), nullable=False),
        sa.Column("photo_lat", sa.Float(), nullable=True),
        sa.Column("photo_lon", sa.Float(), nullable=True),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column(
            "combined",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("group_reason", sa.String(length=16), nullable=True),
        sa.Column("triage", sa.String(length=16), nullable=False),
        sa.Column("dismiss_reason", sa.String(length=32), nullable=True),
        sa.Column("triage_note", sa.Text(), nullable=True),
        sa.Column("triaged_by", sa.String(length=200), nullable=True),
        sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_id", sa.String(length=36), nullable=True),
        sa.Column("reward_decision", sa.String(length=16), nullable=True),
        sa.Column("reward_amount", sa.Integer(), nullable=True),
        sa.Column("reward_paid_on", sa.Date(), nullable=True),
        sa.Column("reward_note", sa.Text(), nullable=True),
        sa.Column("reward_decided_by", sa.String(length=200), nullable=True),
        sa.Column("reward_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["targets.id"],
            name=op.f("fk_tips_target_id_targets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_tips")),
        sa.UniqueConstraint("code", name=op.f("uq_tips_code")),
        sa.UniqueConstraint("id", name=op.f("uq_tips_id")),
    )
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tips_group_id"), ["group_id"], unique=False)
        batch_op.create_index("ix_tips_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_target_id"), ["target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_triage"), ["triage"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_verdict"), ["verdict"], unique=False)

    op.create_table(
        "tip_photos",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column(
            "score",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_photos_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_photos")),
        sa.UniqueConstraint("tip_id", "position", name="uq_tip_photos_position"),
    )
    with op.batch_alter_table("tip_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_photos_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_tip_photos_tip_id"), ["tip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tip_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_photos_tip_id"))
        batch_op.drop_index(batch_op.f("ix_tip_photos_sha256"))

    op.drop_table("tip_photos")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tips_verdict"))
        batch_op.drop_index(batch_op.f("ix_tips_triage"))
        batch_op.drop_index(batch_op.f("ix_tips_target_id"))
        batch_op.drop_index(batch_op.f("ix_tips_received_at"))
        batch_op.drop_index("ix_tips_lat_lon")
        batch_op.drop_index(batch_op.f("ix_tips_group_id"))

    op.drop_table("tips")

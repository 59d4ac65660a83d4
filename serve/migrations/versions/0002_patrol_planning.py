"""Patrol planning (issue 14): unit boundaries, sites, households, survey history, season
plans with their items, and GPS tracks with the grid cells they walked.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_history",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("species", sa.String(length=32), nullable=False),
        sa.Column("plants", sa.Integer(), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_history")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_history_id")),
        sa.UniqueConstraint("source", "source_id", name="uq_plan_history_source_source_id"),
    )
    with op.batch_alter_table("plan_history", schema=None) as batch_op:
        batch_op.create_index("ix_plan_history_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_history_unit"), ["unit"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_history_year"), ["year"], unique=False)

    op.create_table(
        "plan_households",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("village_group", sa.String(length=100), nullable=True),
        sa.Column("head_name", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("past_offender", sa.Boolean(), nullable=False),
        sa.Column(
            "offence_years",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pledge_signed_on", sa.Date(), nullable=True),
        sa.Column("notice_served_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_households")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_households_id")),
        sa.UniqueConstraint("unit", "external_id", name="uq_plan_households_unit_external_id"),
    )
    with op.batch_alter_table("plan_households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_households_unit"), ["unit"], unique=False)

    op.create_table(
        "plan_plans",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column(
            "campaigns",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_plans")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_plans_id")),
        sa.UniqueConstraint("unit", "season", name="uq_plan_plans_unit_season"),
    )
    with op.batch_alter_table("plan_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_plans_unit"), ["unit"], unique=False)

    op.create_table(
        "plan_tracks",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("inspector", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("used_points", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column(
            "points",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_tracks")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_tracks_id")),
    )
    with op.batch_alter_table("plan_tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_tracks_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_tracks_unit"), ["unit"], unique=False)

    op.create_table(
        "plan_units",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("parent", sa.String(length=100), nullable=True),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_units")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_units_id")),
        sa.UniqueConstraint("name", name=op.f("uq_plan_units_name")),
    )
    op.create_table(
        "plan_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=36), nullable=False),
        sa.Column("campaign", sa.String(length=32), nullable=False),
        sa.Column("sweeps", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan_plans.id"],
            name=op.f("fk_plan_items_plan_id_plan_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_items")),
        sa.UniqueConstraint("plan_id", "kind", "ref", "campaign", name="uq_plan_items_ref"),
    )
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_items_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "plan_sites",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("site_type", sa.String(length=32), nullable=False),
        sa.Column(
            "geometry",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("household_id", sa.String(length=36), nullable=True),
        sa.Column(
            "offence_years",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["plan_households.id"],
            name=op.f("fk_plan_sites_household_id_plan_households"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_plan_sites")),
        sa.UniqueConstraint("id", name=op.f("uq_plan_sites_id")),
        sa.UniqueConstraint("unit", "external_id", name="uq_plan_sites_unit_external_id"),
    )
    with op.batch_alter_table("plan_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_sites_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index("ix_plan_sites_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index(batch_op.f("ix_plan_sites_unit"), ["unit"], unique=False)

    op.create_table(
        "plan_track_cells",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("track_id", sa.String(length=36), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["plan_tracks.id"],
            name=op.f("fk_plan_track_cells_track_id_plan_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_track_cells")),
    )
    with op.batch_alter_table("plan_track_cells", schema=None) as batch_op:
        batch_op.create_index("ix_plan_track_cells_cell_day", ["cell", "day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_plan_track_cells_track_id"), ["track_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_track_cells", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_track_cells_track_id"))
        batch_op.drop_index("ix_plan_track_cells_cell_day")

    op.drop_table("plan_track_cells")
    with op.batch_alter_table("plan_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_sites_unit"))
        batch_op.drop_index("ix_plan_sites_lat_lon")
        batch_op.drop_index(batch_op.f("ix_plan_sites_household_id"))

    op.drop_table("plan_sites")
    with op.batch_alter_table("plan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_items_plan_id"))

    op.drop_table("plan_items")
    op.drop_table("plan_units")
    with op.batch_alter_table("plan_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_tracks_unit"))
        batch_op.drop_index(batch_op.f("ix_plan_tracks_started_at"))

    op.drop_table("plan_tracks")
    with op.batch_alter_table("plan_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_plans_unit"))

    op.drop_table("plan_plans")
    with op.batch_alter_table("plan_households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_households_unit"))

    op.drop_table("plan_households")
    with op.batch_alter_table("plan_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_history_year"))
        batch_op.drop_index(batch_op.f("ix_plan_history_unit"))
        batch_op.drop_index("ix_plan_history_lat_lon")

    op.drop_table("plan_history")

"""Filing, reading and changing inspections.

Filing does the slow work (decode, score, EXIF, durable photo writes) *before* opening the
write transaction, which then only inserts rows: the database lock is held for milliseconds,
and photos are on disk before any row points at them. A client-supplied id makes filing
idempotent: a retry of the same upload returns the record already filed (200 instead of 201);
the same id with different photos is a 409.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from ..geotags import read_photo_geotags
from ..keys import Principal
from ..models import Inspection, InspectionPhoto, Target, utcnow
from ..schemas.inspections import InspectionForm, InspectionPatch
from ..scoring import Upload, read_uploads
from ..state import Services
from ..vocab import ReviewState, Role
from . import audit, labels, locate, plants, targets

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1e3c1a-64a4-4c9e-9f55-2a9d3f0c7b11")


@dataclass(frozen=True)
class Filed:
    inspection: Inspection
    created: bool  # False: a retry of a record already filed


def idempotency_id(key: str) -> str:
    """A stable record id for an ``Idempotency-Key`` header value."""
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, key))


def fingerprint(uploads: list[Upload]) -> str:
    digest = hashlib.sha256()
    for upload in uploads:
        digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


def _replay(existing: Inspection, print_: str, unit: str) -> Filed:
    if existing.fingerprint != print_ or existing.unit != unit:
        raise Conflict(
            f"inspection id {existing.id} is already used by a different record "
            "(other photos or another unit); generate a new id for a new inspection"
        )
    return Filed(existing, created=False)


def file_inspection(
    services: Services,
    principal: Principal,
    form: InspectionForm,
    idempotency_key: str | None,
) -> Filed:
    settings = services.settings
    unit = form.unit or principal.unit
    if unit is None:
        raise Unprocessable(
            "unit is required (this key belongs to no unit)",
            details=[{"field": "unit", "message": "required"}],
        )
    if not principal.can_see_unit(unit):
        raise Forbidden(f"an inspector key of unit {principal.unit!r} cannot file for {unit!r}")
    if len(form.photos) > settings.max_photos:
        raise Unprocessable(
            f"{len(form.photos)} photos sent; at most {settings.max_photos} per inspection",
            details=[{"field": "photos", "message": f"at most {settings.max_photos}"}],
        )
    record_id = str(form.id) if form.id else None
    if idempotency_key:
        derived = idempotency_id(idempotency_key)
        if record_id and record_id != derived and record_id != idempotency_key:
            raise Unprocessable("the id field and the Idempotency-Key header disagree")
        record_id = record_id or derived
    record_id = record_id or str(uuid.uuid4())

    entries = plants.parse_plants(form.plants, len(form.photos))
    owners = plants.photo_owners(entries)
    uploads = read_uploads(form.photos, settings.max_photo_bytes)
    print_ = fingerprint(uploads)
    with services.db.read() as session:
        existing = session.scalar(select(Inspection).where(Inspection.id == record_id))
        if existing is not None:
            services.metrics.idempotent_replays.inc()
            return _replay(existing, print_, unit)
        if form.target_id is not None:
            target = session.scalar(select(Target).where(Target.id == form.target_id))
            if target is None or not targets.visible(principal, target):
                raise Unprocessable(
                    f"target_id {form.target_id!r} is not a known target",
                    details=[{"field": "target_id", "message": "unknown target"}],
                )

    scoring = services.require_scoring()
    scored = scoring.score(uploads)
    combined = scoring.combined(scored)
    tags = [read_photo_geotags(u.data, services.camera_zone) for u in uploads]
    device = (form.lat, form.lon, form.accuracy_m) if form.lat is not None else None
    placement = locate.place(
        device=device,  # type: ignore[arg-type]
        manual=form.location_source == "manual",
        photos=tags,
        conflict_m=settings.location_disagreement_m,
    )
    received = utcnow()
    observed_at, observed_source, captured = locate.observed(form.observed_at, tags, received)

    for photo in scored:  # durable before any row references them
        services.store.put(photo.upload.data, photo.sha256)

    identity = scoring.identity
    inspection = Inspection(
        id=record_id,
        fingerprint=print_,
        inspector=form.inspector or principal.name,
        unit=unit,
        site_type=form.site_type.value,
        notes=form.notes,
        lat=placement.lat,
        lon=placement.lon,
        accuracy_m=placement.accuracy_m,
        location_source=placement.source.value,
        device_lat=form.lat,
        device_lon=form.lon,
        device_accuracy_m=form.accuracy_m,
        photo_lat=placement.photo_lat,
        photo_lon=placement.photo_lon,
        location_disagreement_m=placement.disagreement_m,
        location_conflict=placement.conflict,
        observed_at=observed_at,
        observed_at_source=observed_source,
        captured_at=captured,
        received_at=received,
        verdict=combined["verdict"],
        combined=combined,
        model_name=identity["name"],
        model_version=identity["version"],
        model_sha256=identity["sha256"],
        review_state=ReviewState.PENDING.value,
        target_id=form.target_id,
        created_by=principal.key_id,
        version=1,
        updated_at=received,
    )
    inspection.photos = [
        InspectionPhoto(
            position=index,
            sha256=photo.sha256,
            n_bytes=len(photo.upload.data),
            content_type=photo.content_type,
            format=photo.score.image.format if photo.score.image else "",
            width=photo.score.image.width if photo.score.image else 0,
            height=photo.score.image.height if photo.score.image else 0,
            filename=photo.upload.filename,
            verdict=photo.score.verdict.value,
            score=photo.score.as_dict(),
            gps_lat=tag.lat,
            gps_lon=tag.lon,
            gps_altitude_m=tag.altitude_m,
            captured_at=tag.captured_at,
            geotags=tag.raw,
            plant=owners.get(index),
        )
        for index, (photo, tag) in enumerate(zip(scored, tags, strict=True))
    ]
    inspection.plants = plants.plant_rows(entries)
    try:
        with services.db.write() as session:
            session.add(inspection)
            session.flush()
            audit.record(
                session,
                entity="inspection",
                entity_id=record_id,
                action="created",
                changes={
                    "verdict": inspection.verdict,
                    "unit": unit,
                    "photos": len(scored),
                    **({"plants": len(entries)} if entries else {}),
                },
                actor=principal,
            )
            targets.refresh_status(session, [form.target_id], principal)
    except IntegrityError:
        # Two copies of the same upload raced; the other one won. Same answer as a retry.
        with services.db.read() as session:
            existing = session.scalar(select(Inspection).where(Inspection.id == record_id))
            if existing is None:
                raise
            services.metrics.idempotent_replays.inc()
            return _replay(existing, print_, unit)
    for photo in scored:
        services.metrics.scores.labels(photo.score.verdict.value, "inspections").inc()
    services.metrics.inspections.labels(inspection.verdict).inc()
    return Filed(inspection, created=True)


def get_visible(
    session: Session, principal: Principal, inspection_id: str, *, lock: bool = False
) -> Inspection:
    """The inspection, if it exists and the key may see it (else 404, leaking nothing).

    ``lock`` takes a row lock (PostgreSQL ``FOR UPDATE``) so that two reviewers changing the
    same record are serialised instead of one silently overwriting the other.
    """
    query = select(Inspection).where(Inspection.id == inspection_id)
    inspection = session.scalar(query.with_for_update() if lock else query)
    if inspection is None or not principal.can_see_unit(inspection.unit):
        raise NotFound(f"no inspection {inspection_id!r}")
    return inspection


def _snapshot(inspection: Inspection) -> dict[str, Any]:
    return {
        "review_state": inspection.review_state,
        "review_label": inspection.review_label,
        "review_note": inspection.review_note,
        "eradicated_on": inspection.eradicated_on,
        "eradicated_plants": inspection.eradicated_plants,
        "eradicated_area_m2": inspection.eradicated_area_m2,
        "eradication_method": inspection.eradication_method,
        "eradication_note": inspection.eradication_note,
        "target_id": inspection.target_id,
    }


def _apply(session: Session, principal: Principal, inspection: Inspection, patch: InspectionPatch):
    fields = patch.model_fields_set
    if "review" in fields and patch.review is not None:
        review = patch.review
        allowed = labels.allowed_labels(review.state)
        if review.label is not None and review.label not in allowed:
            choices = ", ".join(sorted(allowed)) or "none"
            raise Unprocessable(
                f"label {review.label!r} does not fit review state {review.state.value!r} "
                f"(allowed: {choices})",
                details=[{"field": "review.label", "message": "does not fit the state"}],
            )
        inspection.review_state = review.state.value
        inspection.review_note = review.note
        inspection.review_label = review.label or labels.infer_label(
            review.state, inspection.combined
        )
    if "eradication" in fields:
        era = patch.eradication
        if era is not None and era.date > utcnow().date() + timedelta(days=1):
            raise Unprocessable(
                f"eradication date {era.date} is in the future",
                details=[{"field": "eradication.date", "message": "in the future"}],
            )
        inspection.eradicated_on = era.date if era else None
        inspection.eradicated_plants = era.plants if era else None
        inspection.eradicated_area_m2 = era.area_m2 if era else None
        inspection.eradication_method = era.method.value if era else None
        inspection.eradication_note = era.note if era else None
    if inspection.eradicated_on is not None and inspection.review_state in (
        ReviewState.LOOKALIKE.value,
        ReviewState.NOT_TARGET.value,
    ):
        raise Unprocessable(
            "an inspection reviewed as look-alike / not a target cannot record an eradication",
            details=[{"field": "eradication", "message": "conflicts with the review"}],
        )
    if "target_id" in fields and patch.target_id is not None:
        target = session.scalar(select(Target).where(Target.id == patch.target_id))
        if target is None or not targets.visible(principal, target):
            raise Unprocessable(
                f"target_id {patch.target_id!r} is not a known target",
                details=[{"field": "target_id", "message": "unknown target"}],
            )
    if "target_id" in fields:
        inspection.target_id = patch.target_id


def patch_inspection(
    services: Services,
    principal: Principal,
    inspection_id: str,
    patch: InspectionPatch,
    if_match: str | None,
) -> Inspection:
    """Apply a review / eradication / link; every real change is audited (old → new)."""
    assert principal.role.allows(Role.REVIEWER)
    with services.db.write() as session:
        inspection = get_visible(session, principal, inspection_id, lock=True)
        if if_match is not None and if_match.strip().strip('"') != str(inspection.version):
            raise PreconditionFailed(
                f"the record changed (version {inspection.version}); reload it and retry"
            )
        before = _snapshot(inspection)
        _apply(session, principal, inspection, patch)
        changes = audit.diff(before, _snapshot(inspection))
        if any(name.startswith("review_") for name in changes):
            inspection.reviewed_by = principal.name
            inspection.reviewed_at = utcnow()
        if not changes:
            return inspection
        inspection.version += 1
        inspection.updated_at = utcnow()
        audit.record(
            session,
            entity="inspection",
            entity_id=inspection.id,
            action="updated",
            changes=changes,
            actor=principal,
        )
        targets.refresh_status(session, [before["target_id"], inspection.target_id], principal)
    return inspection

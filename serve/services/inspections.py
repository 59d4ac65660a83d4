"""Filing, reading and changing inspections.

Filing (:func:`file_inspection`, a list of named steps) does the slow work (decode, score,
EXIF, durable photo writes) *before* opening the write transaction, which then only inserts
rows: the database lock is held for milliseconds, and photos are on disk before any row
points at them. Each photo is read once, inside the scoring gate, for both the decoder and
the metadata reader; until then it waits in the multipart parser's temporary file. A client-supplied id makes filing
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
from ..geotags import PhotoGeotags, read_photo_geotags
from ..keys import Principal
from ..models import Inspection, InspectionPhoto, Target, utcnow
from ..schemas.inspections import InspectionForm, InspectionPatch
from ..scoring import ScoredPhoto, ScoringService
from ..state import Services
from ..uploads import Upload, accept_uploads
from ..vocab import ReviewState, Role
from . import audit, labels, locate, targets
from .filters import InspectionFilter, encode_cursor

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1e3c1a-64a4-4c9e-9f55-2a9d3f0c7b11")


@dataclass(frozen=True)
class Filed:
    inspection: Inspection
    created: bool  # False: a retry of a record already filed


def idempotency_id(unit: str, key: str) -> str:
    """A stable record id for an ``Idempotency-Key`` header value, within one unit.

    Scoped to the unit: two units' phones may well both number their queue items "1"; each
    must get its own record, and neither may learn that the other's exists.
    """
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{unit}\n{key}"))


def fingerprint(uploads: list[Upload]) -> str:
    digest = hashlib.sha256()
    for upload in uploads:
        digest.update(bytes.fromhex(upload.sha256))
    return digest.hexdigest()


def file_inspection(
    services: Services,
    principal: Principal,
    form: InspectionForm,
    idempotency_key: str | None,
) -> Filed:
    """File one inspection. Each step below is a function of this module, in this order:
    the cheap refusals first, the slow work (scoring, durable photo writes) before the short
    write transaction, which only inserts rows."""
    unit = filing_unit(principal, form)
    check_photo_count(form, services.settings.max_photos)
    record_id = record_id_for(form, idempotency_key, unit)
    uploads = accept_uploads(form.photos, services.settings.max_photo_bytes)
    print_ = fingerprint(uploads)
    earlier = already_filed(services, record_id, print_, unit)
    if earlier is not None:
        return earlier
    check_target(services, principal, form.target_id)
    scoring = services.require_scoring()
    zone = services.camera_zone
    photos = scoring.score(uploads, metadata=lambda data: read_photo_geotags(data, zone))
    inspection = new_record(services, principal, form, record_id, unit, print_, photos, scoring)
    store_photos(services, photos)  # durable before any row references them
    return insert_record(services, principal, inspection, print_)


def filing_unit(principal: Principal, form: InspectionForm) -> str:
    """The unit the record belongs to: the form's, else the key's; an inspector only its own."""
    unit = form.unit or principal.unit
    if unit is None:
        raise Unprocessable(
            "unit is required (this key belongs to no unit)",
            details=[{"field": "unit", "message": "required"}],
        )
    if not principal.can_see_unit(unit):
        raise Forbidden(f"an inspector key of unit {principal.unit!r} cannot file for {unit!r}")
    return unit


def check_photo_count(form: InspectionForm, limit: int) -> None:
    if len(form.photos) > limit:
        raise Unprocessable(
            f"{len(form.photos)} photos sent; at most {limit} per inspection",
            details=[{"field": "photos", "message": f"at most {limit}"}],
        )


def record_id_for(form: InspectionForm, idempotency_key: str | None, unit: str) -> str:
    """The client's id, else one derived from the unit's ``Idempotency-Key``, else a new one."""
    record_id = str(form.id) if form.id else None
    if idempotency_key:
        derived = idempotency_id(unit, idempotency_key)
        if record_id and record_id != derived and record_id != idempotency_key:
            raise Unprocessable("the id field and the Idempotency-Key header disagree")
        record_id = record_id or derived
    return record_id or str(uuid.uuid4())


def already_filed(services: Services, record_id: str, print_: str, unit: str) -> Filed | None:
    """A retry of a record already filed (the same answer again), or None for a new one."""
    with services.db.read() as session:
        existing = session.scalar(select(Inspection).where(Inspection.id == record_id))
    if existing is None:
        return None
    services.metrics.idempotent_replays.inc()
    return _replay(existing, print_, unit)


def _replay(existing: Inspection, print_: str, unit: str) -> Filed:
    """The same upload again: the record. Anything else with this id: one answer, whoever
    owns the record, so the answer never tells a unit what another unit has filed."""
    if existing.fingerprint != print_ or existing.unit != unit:
        raise Conflict(
            f"inspection id {existing.id} cannot be used for this upload (it names a record "
            "with other photos); generate a new id for a new inspection"
        )
    return Filed(existing, created=False)


def check_target(services: Services, principal: Principal, target_id: str | None) -> None:
    if target_id is None:
        return
    with services.db.read() as session:
        target = session.scalar(select(Target).where(Target.id == target_id))
        if target is None or not targets.visible(principal, target):
            raise Unprocessable(
                f"target_id {target_id!r} is not a known target",
                details=[{"field": "target_id", "message": "unknown target"}],
            )


def new_record(
    services: Services,
    principal: Principal,
    form: InspectionForm,
    record_id: str,
    unit: str,
    print_: str,
    photos: list[ScoredPhoto],
    scoring: ScoringService,
) -> Inspection:
    """The rows to insert: where and when (device, photo metadata), verdict, model, photos."""
    tags: list[PhotoGeotags] = [photo.metadata for photo in photos]
    device = (form.lat, form.lon, form.accuracy_m) if form.lat is not None else None
    placement = locate.place(
        device=device,  # type: ignore[arg-type]
        manual=form.location_source == "manual",
        photos=tags,
        conflict_m=services.settings.location_disagreement_m,
    )
    received = utcnow()
    when = locate.observed(form.observed_at, tags, received)
    combined = scoring.combined(photos)
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
        observed_at=when.at,
        observed_at_source=when.source,
        observed_at_rejected=when.rejected,
        captured_at=when.captured,
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
    inspection.photos = [_photo_row(index, photo) for index, photo in enumerate(photos)]
    return inspection


def _photo_row(index: int, photo: ScoredPhoto) -> InspectionPhoto:
    image, tag = photo.score.image, photo.metadata
    return InspectionPhoto(
        position=index,
        sha256=photo.sha256,
        n_bytes=photo.upload.size,
        content_type=photo.content_type,
        format=image.format if image else "",
        width=image.width if image else 0,
        height=image.height if image else 0,
        filename=photo.upload.filename,
        verdict=photo.score.verdict.value,
        score=photo.score.as_dict(),
        gps_lat=tag.lat,
        gps_lon=tag.lon,
        gps_altitude_m=tag.altitude_m,
        captured_at=tag.captured_at,
        geotags=tag.raw,
    )


def store_photos(services: Services, photos: list[ScoredPhoto]) -> None:
    for photo in photos:
        upload = photo.upload
        services.store.put_stream(upload.chunks(), upload.sha256, upload.size)


def insert_record(
    services: Services, principal: Principal, inspection: Inspection, print_: str
) -> Filed:
    """One short transaction: the rows, the audit entry, the target's status; then metrics.
    Two copies of one upload racing: the loser answers as a retry."""
    try:
        with services.db.write() as session:
            session.add(inspection)
            session.flush()
            audit.record(
                session,
                entity="inspection",
                entity_id=inspection.id,
                action="created",
                changes={
                    "verdict": inspection.verdict,
                    "unit": inspection.unit,
                    "photos": len(inspection.photos),
                },
                actor=principal,
            )
            targets.refresh_status(session, [inspection.target_id], principal)
    except IntegrityError:
        earlier = already_filed(services, inspection.id, print_, inspection.unit)
        if earlier is None:
            raise
        return earlier
    for photo in inspection.photos:
        services.metrics.scores.labels(photo.verdict, "inspections").inc()
    services.metrics.inspections.labels(inspection.verdict).inc()
    return Filed(inspection, created=True)


def list_page(
    session: Session, flt: InspectionFilter, before: int | None, limit: int
) -> tuple[list[Inspection], str | None]:
    """One page, newest first: rows with ``seq`` below the cursor, and the next cursor."""
    query = flt.apply(select(Inspection))
    if before is not None:
        query = query.where(Inspection.seq < before)
    rows = list(session.scalars(query.order_by(Inspection.seq.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(rows[-1].seq) if more and rows else None


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

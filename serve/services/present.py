"""ORM rows → API schemas. One place decides what a record looks like on the wire."""

from __future__ import annotations

from ..models import AuditEvent, Inspection, Target
from ..schemas import inspections as s
from ..schemas import targets as ts
from ..schemas.common import ModelIdentity


def photo_url(inspection_id: str, position: int) -> str:
    return f"/v1/inspections/{inspection_id}/photos/{position}"


def inspection(row: Inspection, *, with_scores: bool = False) -> s.Inspection:
    device = (
        s.Point(lat=row.device_lat, lon=row.device_lon, accuracy_m=row.device_accuracy_m)
        if row.device_lat is not None and row.device_lon is not None
        else None
    )
    photo_point = (
        s.Point(lat=row.photo_lat, lon=row.photo_lon)
        if row.photo_lat is not None and row.photo_lon is not None
        else None
    )
    eradication = (
        s.Eradication(
            date=row.eradicated_on,
            plants=row.eradicated_plants or 0,
            area_m2=row.eradicated_area_m2,
            method=row.eradication_method or "other",
            note=row.eradication_note,
        )
        if row.eradicated_on is not None
        else None
    )
    return s.Inspection(
        id=row.id,
        inspector=row.inspector,
        unit=row.unit,
        site_type=row.site_type,
        notes=row.notes,
        location=s.Location(
            lat=row.lat,
            lon=row.lon,
            accuracy_m=row.accuracy_m,
            source=row.location_source,
            device=device,
            photo=photo_point,
            disagreement_m=row.location_disagreement_m,
            conflict=row.location_conflict,
        ),
        observed_at=row.observed_at,
        observed_at_source=row.observed_at_source,
        observed_at_rejected=row.observed_at_rejected,
        captured_at=row.captured_at,
        received_at=row.received_at,
        verdict=row.verdict,
        combined=row.combined,
        model=ModelIdentity(
            name=row.model_name, version=row.model_version, sha256=row.model_sha256
        ),
        review=s.Review(
            state=row.review_state,
            label=row.review_label,
            note=row.review_note,
            by=row.reviewed_by,
            at=row.reviewed_at,
        ),
        eradication=eradication,
        target_id=row.target_id,
        photos=[
            s.Photo(
                position=p.position,
                sha256=p.sha256,
                url=photo_url(row.id, p.position),
                filename=p.filename,
                content_type=p.content_type,
                n_bytes=p.n_bytes,
                width=p.width,
                height=p.height,
                verdict=p.verdict,
                gps=s.PhotoGps(lat=p.gps_lat, lon=p.gps_lon, altitude_m=p.gps_altitude_m)
                if p.gps_lat is not None and p.gps_lon is not None
                else None,
                captured_at=p.captured_at,
                score=p.score if with_scores else None,
            )
            for p in row.photos
        ],
        created_by=row.created_by,
        version=row.version,
        updated_at=row.updated_at,
    )


def audit_entry(event: AuditEvent) -> s.AuditEntry:
    return s.AuditEntry(
        action=event.action,
        at=event.at,
        actor=event.actor_name,
        actor_key_id=event.actor_key_id,
        role=event.actor_role,
        changes=event.changes,
    )


def target(row: Target, linked: int) -> ts.Target:
    return ts.Target(
        id=row.id,
        issuer=row.issuer,
        issuer_id=row.issuer_id,
        name=row.name,
        notes=row.notes,
        geometry=row.geometry,
        lat=row.lat,
        lon=row.lon,
        issued_on=row.issued_on,
        due_on=row.due_on,
        unit=row.unit,
        status=row.status,
        properties=row.properties or {},
        linked_inspections=linked,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )

"""Receiving a tip from the public: stored like an inspection, but apart from them.

As with inspections, the slow work (decode, score, EXIF, durable photo writes) happens before
the short write transaction, photos are in the content-addressed store before any row points
at them, and the phone's id makes a re-send return the tip already received (the phone's
offline queue retries safely): same id, same photos and words → 200 with the same code; same
id with anything else → 409.

The phone makes the secret and keeps it until the tip is acknowledged, so a send whose answer
was lost costs the tipster nothing: the retry returns the code, and the phone still holds the
secret. Without one, the server makes a secret and returns it once.

A filled-in honeypot field (``website``, which people never see) gets an answer shaped like a
receipt and stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...errors import Conflict, Unprocessable
from ...geotags import read_photo_geotags
from ...models import utcnow
from ...models_tips import Tip, TipPhoto
from ...schemas.tips import TipForm
from ...scoring import ScoredPhoto
from ...state import Services
from ...uploads import Upload, accept_uploads
from .. import audit, locate
from . import codes
from .grouping import assign_group

_CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class Received:
    id: str
    code: str
    secret: str | None  # only when the server made it (shown once)
    received_at: object
    created: bool
    decoy: bool = False


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def fingerprint(uploads: list[Upload], form: TipForm) -> str:
    """Over the photos and every field the tipster typed or placed: what a retry repeats."""
    digest = hashlib.sha256()
    for upload in uploads:
        digest.update(bytes.fromhex(upload.sha256))
    fields = [
        _clean(form.place),
        _clean(form.description),
        _clean(form.contact),
        form.lat,
        form.lon,
        form.location_source,
    ]
    digest.update(json.dumps(fields, ensure_ascii=False).encode())
    return digest.hexdigest()


def _secret(form: TipForm) -> tuple[str, bool]:
    """(normalised secret, made by the server?)."""
    if form.secret is None or not form.secret.strip():
        return codes.new_secret(), True
    secret = codes.normalise(form.secret)
    if not codes.valid_secret(secret):
        raise Unprocessable(
            f"secret must be {codes.SECRET_LENGTH}–{codes.MAX_SECRET_LENGTH} symbols of "
            f"{codes.ALPHABET}",
            details=[{"field": "secret", "message": "not a tip secret"}],
        )
    return secret, False


def _check_content(form: TipForm, max_photos: int) -> None:
    if len(form.photos) > max_photos:
        raise Unprocessable(
            f"{len(form.photos)} photos sent; at most {max_photos} per tip",
            details=[{"field": "photos", "message": f"at most {max_photos}"}],
        )
    if not form.photos and not _clean(form.description):
        raise Unprocessable(
            "send a photo or say what you saw",
            details=[{"field": "description", "message": "a photo or a description is needed"}],
        )
    if form.lat is None and not _clean(form.place):
        raise Unprocessable(
            "say where: share your location, place a pin, or describe the place",
            details=[{"field": "place", "message": "a location or a place is needed"}],
        )


def _replay(existing: Tip, print_: str, secret: str, made_here: bool) -> Received:
    same = existing.fingerprint == print_ and (
        made_here or codes.verify_secret(secret, existing.secret_hash)
    )
    if not same:
        raise Conflict(f"tip id {existing.id} was already used for a different tip; make a new id")
    return Received(existing.id, existing.code, None, existing.received_at, created=False)


def receive_tip(services: Services, form: TipForm) -> Received:
    settings = services.settings
    metrics = services.metrics
    if _clean(form.website):
        tip_metrics(services).honeypot.inc()
        return Received(
            str(uuid.uuid4()), codes.new_code(), codes.new_secret(), utcnow(), True, decoy=True
        )
    _check_content(form, settings.public_max_photos)
    secret, made_here = _secret(form)
    record_id = str(form.id) if form.id else str(uuid.uuid4())

    uploads = accept_uploads(form.photos, settings.public_max_photo_bytes)
    print_ = fingerprint(uploads, form)
    with services.db.read() as session:
        existing = session.scalar(select(Tip).where(Tip.id == record_id))
        if existing is not None:
            return _replay(existing, print_, secret, made_here)

    scored: list[ScoredPhoto] = []
    combined = None
    identity = None
    if uploads:
        scoring = services.require_scoring()
        zone = services.camera_zone
        scored = scoring.score(uploads, metadata=lambda data: read_photo_geotags(data, zone))
        combined = scoring.combined(scored)
        identity = scoring.identity
        for photo in scored:
            metrics.scores.labels(photo.score.verdict.value, "public_tip").inc()
    tags = [photo.metadata for photo in scored]
    device = (form.lat, form.lon, form.accuracy_m) if form.lat is not None else None
    placement = locate.place(
        device=device,  # type: ignore[arg-type]
        manual=form.location_source == "manual",
        photos=tags,
        conflict_m=settings.location_disagreement_m,
    )
    received = utcnow()
    # A phone clock at year 1 or 9999 is ignored (the tip keeps the photo or server time).
    when = locate.observed(form.observed_at, tags, received)
    observed_at, observed_source = when.at, when.source
    for photo in scored:  # durable before any row references them
        services.store.put_stream(photo.upload.chunks(), photo.sha256, photo.upload.size)
    secret_hash = codes.hash_secret(secret)
    digests = [p.sha256 for p in scored]

    for _attempt in range(_CODE_ATTEMPTS):
        tip = Tip(
            id=record_id,
            code=codes.new_code(),
            secret_hash=secret_hash,
            fingerprint=print_,
            received_at=received,
            observed_at=observed_at,
            observed_at_source=observed_source,
            lat=placement.lat,
            lon=placement.lon,
            accuracy_m=placement.accuracy_m,
            location_source=placement.source.value,
            photo_lat=placement.photo_lat,
            photo_lon=placement.photo_lon,
            place=_clean(form.place),
            description=_clean(form.description),
            contact=_clean(form.contact),
            verdict=combined["verdict"] if combined else None,
            combined=combined,
            model_name=identity["name"] if identity else None,
            model_version=identity["version"] if identity else None,
            model_sha256=identity["sha256"] if identity else None,
            triage="new",
            version=1,
            updated_at=received,
        )
        tip.photos = [
            TipPhoto(
                position=index,
                sha256=photo.sha256,
                n_bytes=photo.upload.size,
                content_type=photo.content_type,
                format=photo.score.image.format if photo.score.image else "",
                width=photo.score.image.width if photo.score.image else 0,
                height=photo.score.image.height if photo.score.image else 0,
                verdict=photo.score.verdict.value,
                score=photo.score.as_dict(),
                gps_lat=tag.lat,
                gps_lon=tag.lon,
                captured_at=tag.captured_at,
            )
            for index, (photo, tag) in enumerate(zip(scored, tags, strict=True))
        ]
        try:
            with services.db.write() as session:
                assign_group(session, tip, digests, settings, received)
                session.add(tip)
                session.flush()
                audit.record(
                    session,
                    entity="tip",
                    entity_id=tip.id,
                    action="received",
                    changes={
                        "photos": len(scored),
                        "verdict": tip.verdict,
                        "group_id": tip.group_id,
                        "group_reason": tip.group_reason,
                        "target_id": tip.target_id,
                    },
                    actor=None,
                )
        except IntegrityError:
            with services.db.read() as session:
                existing = session.scalar(select(Tip).where(Tip.id == record_id))
            if existing is not None:  # the same tip raced itself; the other copy won
                return _replay(existing, print_, secret, made_here)
            continue  # a code already taken (one in 2^40): draw another
        tip_metrics(services).received.labels("yes" if tip.group_id != tip.id else "no").inc()
        return Received(tip.id, tip.code, secret if made_here else None, received, created=True)
    raise Conflict("could not give the tip a free code; send it again")  # pragma: no cover


def tip_metrics(services: Services):  # noqa: ANN201 - see metrics.TipMetrics
    from .metrics import TipMetrics

    return TipMetrics.of(services.metrics)

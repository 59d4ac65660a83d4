"""Fuzz targets: every parser an outsider can reach, each with the contract it must keep.

A target takes raw bytes, runs the parser, and raises :class:`ContractViolation` (or lets an
unexpected exception escape) when the parser breaks its contract:

- only the documented, typed errors (``ImageError`` subclasses for intake, ``Unprocessable``
  for target files, a 4xx JSON error for the HTTP forms; geotags never raise at all);
- what comes out is usable downstream: finite numbers, no NUL characters (PostgreSQL text and
  JSONB cannot hold U+0000), capture times that can be stored in UTC;
- memory and time per input bounded by the limits: the fuzz limits below are small so that a
  bound that fails is seen as libFuzzer's ``-rss_limit_mb`` / ``-timeout`` in seconds, not as
  a machine that swaps.

Each target returns a short outcome (``"ok"``, an error code, or an HTTP status) that the seed
tests compare with what each seed expects.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from plantscout.drone.geotags import Geotags, read_geotags  # the fuzz tests' one import of it
from plantscout.model.errors import ImageError
from plantscout.model.intake import IntakeLimits, read_image
from plantscout.model.preprocess import Preprocessing, preprocess


class ContractViolation(AssertionError):
    """The parser answered, but not as its contract says."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


# -- image intake -> preprocessing --------------------------------------------------------

# The service's limits, scaled down so a fuzz run is fast: bounds are ratios of these.
FUZZ_LIMITS = IntakeLimits(max_bytes=4 * 1024 * 1024, max_pixels=2_000_000, min_side=32)
SPEC = Preprocessing()  # equals the shipped bundle's card (224, shorter side, centre crop)


def intake(data: bytes) -> str:
    """``read_image`` then ``preprocess``, as the service and the drone scanner call them."""
    try:
        decoded = read_image(data, limits=FUZZ_LIMITS, min_decoded_side=SPEC.resize_side)
    except ImageError as exc:
        check(bool(exc.code) and bool(exc.message), f"{type(exc).__name__} without code/message")
        return exc.code
    image = decoded.image
    check(image.mode == "RGB", f"decoded mode {image.mode}, not RGB")
    check(
        image.width * image.height <= FUZZ_LIMITS.max_pixels,
        f"decoded {image.size} exceeds the pixel limit",
    )
    check(
        min(decoded.width, decoded.height) >= FUZZ_LIMITS.min_side,
        f"{decoded.size} is below the minimum side",
    )
    check(decoded.sha256 == hashlib.sha256(data).hexdigest(), "sha256 is not of the input")
    check(decoded.n_bytes == len(data), "n_bytes is not the input's length")
    tensor = preprocess(image, SPEC)
    check(tensor.shape == (3, SPEC.input_size, SPEC.input_size), f"tensor {tensor.shape}")
    check(tensor.dtype == np.float32 and bool(np.isfinite(tensor).all()), "tensor not finite")
    return "ok"


# -- EXIF / XMP geotags -------------------------------------------------------------------

_MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (Kiribati)


def _storable(moment: datetime) -> bool:
    """A capture time the service can turn into UTC, in any camera zone if it has none."""
    try:
        if moment.tzinfo is not None:
            moment.astimezone(UTC)
        else:
            moment - _MAX_OFFSET, moment + _MAX_OFFSET  # noqa: B018 - raises on overflow
    except OverflowError:
        return False
    return True


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def geotags(data: bytes) -> str:
    """``read_geotags``: never raises, and whatever it returns can be stored and used."""
    tags = read_geotags(data)
    check(isinstance(tags, Geotags), f"returned {type(tags).__name__}")
    for f in fields(tags):
        value = getattr(tags, f.name)
        if isinstance(value, float):
            check(math.isfinite(value), f"{f.name} is {value}")
    check((tags.lat is None) == (tags.lon is None), "only one of lat/lon")
    if tags.lat is not None and tags.lon is not None:
        check(-90 <= tags.lat <= 90 and -180 <= tags.lon <= 180, "position out of range")
    if tags.captured_at is not None:
        check(_storable(tags.captured_at), f"captured_at {tags.captured_at!r} overflows in UTC")
    record = tags.as_dict()
    json.dumps(record, allow_nan=False)  # the service stores it as JSON
    for text in _strings(record):
        check("\x00" not in text, f"NUL character in {text[:80]!r}")
    return "ok"


# -- GeoJSON / CSV target files -----------------------------------------------------------


def targets(data: bytes) -> str:
    """``parse_targets``: a 422 ``Unprocessable`` or rows the database can store.

    The first byte picks the format (``G`` GeoJSON, ``C`` CSV, else detected as the service
    does from the content), the rest is the file.
    """
    from plantscout.serve.errors import Unprocessable
    from plantscout.serve.geo import normalise_geometry
    from plantscout.serve.services.target_files import MAX_ROWS, detect_format, parse_targets

    head, body = data[:1], data[1:]
    fmt = {b"G": "geojson", b"C": "csv"}.get(head) or detect_format(None, body)
    try:
        rows = parse_targets(body, fmt)
    except Unprocessable as exc:
        check(exc.status == 422 and bool(exc.message), "Unprocessable without a message")
        json.dumps(exc.details, allow_nan=False)
        check("\x00" not in exc.message, "NUL character in the error message")
        return "422"
    check(0 < len(rows) <= MAX_ROWS, f"{len(rows)} rows")
    for row in rows:
        check(bool(row.issuer_id) and len(row.issuer_id) <= 200, f"issuer id {row.issuer_id!r}")
        check(normalise_geometry(row.geometry) == row.geometry, "geometry not normalised")
        for value in (row.issued_on, row.due_on):
            check(value is None or isinstance(value, date), f"date {value!r}")
        stored = {
            "issuer_id": row.issuer_id,
            "name": row.name,
            "notes": row.notes,
            "unit": row.unit,
            "geometry": row.geometry,
            "properties": row.properties,
        }
        json.dumps(stored, allow_nan=False)  # raises on NaN / Infinity
        for text in _strings(stored):
            check("\x00" not in text, f"NUL character in {text[:80]!r}")
        row.content_hash()
    return "ok"


# -- patrol-planning history imports (last seasons' finds) --------------------------------


def history(data: bytes) -> str:
    """The planning importers' file reader (``planning/files.py``, shared by history, units,
    households and sites) and the history row parser: a 422 ``Unprocessable`` for the file, a
    per-row ``ValueError``/``GeometryError`` for a bad row, or values the database can store.

    The first byte picks the format as for ``targets``.
    """
    from plantscout.serve.errors import Unprocessable
    from plantscout.serve.geo import GeometryError
    from plantscout.serve.services.planning import files
    from plantscout.serve.services.planning import history as past

    head, body = data[:1], data[1:]
    fmt = {b"G": "geojson", b"C": "csv"}.get(head)
    try:
        raw, _encoding = files.read_rows(body, None, fmt, past.HISTORY_ALIASES)
        files.require_columns(raw, {"outcome"}, "history")
    except Unprocessable as exc:
        check(exc.status == 422 and bool(exc.message), "Unprocessable without a message")
        json.dumps(exc.details, allow_nan=False)
        check("\x00" not in exc.message, "NUL character in the error message")
        return "422"
    check(0 < len(raw) <= files.MAX_ROWS, f"{len(raw)} rows")
    latest = date.today() + timedelta(days=1)
    for row in raw:
        try:
            values = past._values(row, "fuzz", None, latest)
        except (ValueError, GeometryError) as exc:
            check("\x00" not in str(exc), "NUL character in a row error")
            continue
        check(-90 <= values["lat"] <= 90 and -180 <= values["lon"] <= 180, "coordinates")
        check(1950 <= values["year"] <= latest.year, f"year {values['year']}")
        json.dumps(values, default=str, allow_nan=False)  # raises on NaN / Infinity
        for text in _strings(values):
            check("\x00" not in text, f"NUL character in {text[:80]!r}")
    return "ok"


# -- multipart forms through the real app -------------------------------------------------


class FormsApp:
    """A real app: SQLite in a temporary folder (or ``database_url``), the tiny bundle, an
    admin and an inspector key. ``__call__`` is the target."""

    def __init__(self, database_url: str | None = None) -> None:
        from fastapi.testclient import TestClient

        from plantscout.model.testing import build_tiny_bundle
        from plantscout.serve.app import create_app
        from plantscout.serve.keys import mint_key
        from plantscout.serve.settings import Settings
        from plantscout.serve.vocab import Role

        self._tmp = tempfile.TemporaryDirectory(prefix="plantscout-fuzz-")
        root = Path(self._tmp.name)
        settings = Settings(
            _env_file=None,
            data_dir=root / "var",
            database_url=database_url,
            model_path=build_tiny_bundle(root / "bundle"),
            model_threads=1,
            worker_threads=4,
            sweep_interval_s=0,
            log_level="ERROR",
            max_photo_bytes=FUZZ_LIMITS.max_bytes,
            max_photo_pixels=FUZZ_LIMITS.max_pixels,
            max_import_bytes=FUZZ_LIMITS.max_bytes,
        )
        self.client = TestClient(create_app(settings), raise_server_exceptions=False)
        self.client.__enter__()
        # A 5xx is the finding: the contract names the server's exception (kept from the log
        # record), and the traceback is not printed for every input.
        self.server_errors: list[str] = []
        handler = _KeepErrors(self.server_errors)
        for name in ("plantscout", "plantscout.serve"):
            logger = logging.getLogger(name)
            logger.handlers = [handler]
            logger.propagate = False
        db = self.client.app.state.services.db
        with db.write() as session:
            admin = mint_key(session, role=Role.ADMIN, name="fuzz-admin", unit=None).key
            inspector = mint_key(session, role=Role.INSPECTOR, name="fuzz-insp", unit="u").key
        self.keys = {"admin": admin, "inspector": inspector}

    def counts(self) -> tuple[int, ...]:
        from sqlalchemy import func, select

        from plantscout.serve.models import AuditEvent, Inspection, InspectionPhoto, Target

        with self.client.app.state.services.db.read() as session:
            return tuple(
                session.scalar(select(func.count()).select_from(table))
                for table in (Inspection, InspectionPhoto, Target, AuditEvent)
            )

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self._tmp.cleanup()

    def __call__(self, data: bytes) -> str:
        """``POST`` a multipart body to one of the three upload routes, with a valid key.

        Contract: never a 5xx; an error is a 4xx with the JSON error shape; a 4xx changes
        nothing (no inspection, photo, target or audit row).
        """
        from fuzz_seeds import BOUNDARY, ROUTES

        route = ROUTES[data[0] % len(ROUTES)] if data else ROUTES[0]
        key = self.keys["admin" if route.startswith("/v1/targets") else "inspector"]
        before = self.counts()
        self.server_errors.clear()
        response = self.client.post(
            route,
            content=data[1:],
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            },
        )
        status = response.status_code
        if status >= 500:
            cause = self.server_errors[-1] if self.server_errors else response.text[:200]
            raise ContractViolation(f"{route} answered {status}: {cause}")
        if status >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                raise ContractViolation(f"{route} {status} without the JSON error shape") from None
            check(bool(error.get("code")) and bool(error.get("message")), f"bad error {error!r}")
            check(self.counts() == before, f"{route} answered {status} but changed the database")
        return str(status)


class _KeepErrors(logging.Handler):
    """Keeps ``ExceptionType: message`` of each logged server error (the 5xx's cause)."""

    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = (str(exc).splitlines() or [""])[0]
            self.into.append(f"{type(exc).__name__}: {first[:200]}")
        else:
            self.into.append(record.getMessage()[:200])


_forms_app: FormsApp | None = None


def forms(data: bytes) -> str:
    """The forms target on a per-process SQLite app (started on first use)."""
    global _forms_app
    if _forms_app is None:
        _forms_app = FormsApp()
    return _forms_app(data)


TARGETS = {
    "intake": intake,
    "geotags": geotags,
    "targets": targets,
    "history": history,
    "forms": forms,
}

"""Service settings, read from the environment (``PLANTSCOUT_*``) and an optional ``.env``.

Every variable the service reads is a field here (``PLANTSCOUT_<FIELD>``), except the two it
shares with the commands, ``PLANTSCOUT_REGISTRY`` and ``PLANTSCOUT_MODEL``, which are declared
in :mod:`plantscout.model.environment`. A test greps the source tree for any other read.

One data directory holds everything a default install writes (the SQLite file and the photo
store), so an office can back up or move the whole service by copying one folder. Every knob
has a safe default; tests build a ``Settings`` object directly and pass it to ``create_app``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything ``create_app`` needs. Field names map to ``PLANTSCOUT_<NAME>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix="PLANTSCOUT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path("var"), description="Holds the SQLite file and the photo store.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file <data_dir>/plantscout.db."
    )
    photo_dir: Path | None = Field(None, description="Photo store; default: <data_dir>/photos.")
    model_path: Path | None = Field(
        None,
        description="Model bundle directory, used when the registry has no current bundle "
        "(then $PLANTSCOUT_MODEL, then the released default).",
    )
    model_watch_s: float = Field(
        2.0,
        ge=0,
        description="How often the registry's CURRENT pointer is checked, so `plantscout model "
        "promote` reaches a running service (0: only at start and on /v1/models/reload).",
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    worker_threads: int = Field(32, ge=1, le=512, description="Threads serving blocking work.")
    model_threads: int | None = Field(
        None, ge=1, description="ONNX Runtime intra-op threads per run (default: by CPU count)."
    )
    score_concurrency: int = Field(
        2, ge=1, le=64, description="Photos decoded and scored at the same time (bounds CPU)."
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(30, ge=0, le=500)

    max_photos: int = Field(10, ge=1, le=100, description="Photos per request.")
    max_photo_bytes: int = Field(30 * 1024 * 1024, ge=1024)
    max_photo_pixels: int = Field(120_000_000, ge=10_000)
    max_import_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    scan_max_tiles_per_frame: int = Field(
        2000,
        ge=1,
        description="Scan jobs: settings that cut a frame into more tiles are refused (422). "
        "A 20 MP frame at the model's 1 cm/px and 0.25 overlap is about 730.",
    )
    max_inflight_upload_bytes: int = Field(
        2 * 1024**3,
        ge=1024 * 1024,
        description="Request bodies received at once, all requests together; past it: 503 "
        "with Retry-After. Bounds the temporary disk (and memory) that uploads hold.",
    )
    request_body_idle_s: float = Field(
        30.0, gt=0, description="A body that sends nothing for this long is cut off (408)."
    )
    request_body_timeout_s: float = Field(
        900.0, gt=0, description="A body that takes longer than this in all is cut off (408)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS: `a,b` or a JSON list."
    )

    location_disagreement_m: float = Field(
        150.0, gt=0, description="Photo GPS and device GPS further apart than this are flagged."
    )
    suggest_radius_m: float = Field(
        250.0, gt=0, description="Unlinked inspections this close to an open target are suggested."
    )
    orphan_grace_s: float = Field(
        3600.0, ge=0, description="Unreferenced photo files younger than this are never swept."
    )
    sweep_interval_s: float = Field(
        6 * 3600.0,
        ge=0,
        description="How often the server sweeps orphan photos (0: only at start).",
    )
    camera_timezone: str = Field(
        "UTC", description="Zone of camera clocks that write no UTC offset (e.g. Asia/Shanghai)."
    )
    training_licence: str = Field(
        "internal: plantscout inspection records; not for redistribution",
        description="Licence written into the training-data export.",
    )
    plan_h3_resolution: int = Field(
        9, ge=6, le=11, description="Patrol-planning grid: H3 resolution (9 ≈ 0.1 km² cells)."
    )
    plan_track_max_accuracy_m: float = Field(
        50.0, gt=0, description="Track points less accurate than this credit no cell or site."
    )
    plan_site_radius_m: float = Field(
        30.0, gt=0, description="An inspection or track point this close to a site covers it."
    )
    # The public check page and tip-offs (issue 15): the only endpoints without a key.
    public_enabled: bool = Field(
        True, description="Serve /check, /learn and /v1/public/* (false: every one is a 404)."
    )
    public_url: str | None = Field(
        None,
        max_length=300,
        pattern=r"^https?://\S+$",
        description="The check page's public address, printed as the poster's QR code "
        "(default: this server's /check as the request reached it).",
    )
    public_max_photos: int = Field(3, ge=1, le=10, description="Photos per public check or tip.")
    public_max_photo_bytes: int = Field(12 * 1024 * 1024, ge=1024)
    public_limit_check: str = Field("10/minute;100/day", description="Checks per client IP.")
    public_limit_tip: str = Field("5/10minutes;20/day", description="Tip-offs per client IP.")
    public_limit_read: str = Field(
        "30/minute;600/day", description="Status look-ups, teaching texts, poster, per client IP."
    )
    public_limit_global: str = Field(
        "600/minute", description="All public requests together, whoever sends them."
    )
    public_limit_global_check: str = Field(
        "60/minute", description="Public checks together (each one runs the model)."
    )
    tips_group_radius_m: float = Field(
        150.0, gt=0, description="Tips this close together within the window are grouped."
    )
    tips_group_window_h: float = Field(72.0, gt=0, description="The grouping time window.")
    teaching_dir: Path | None = Field(
        None, description="Reference photos for the learn page; default: <data_dir>/teaching."
    )
    campaign_hotline: str | None = Field(
        None, max_length=100, description="Phone number printed on the learn page and poster."
    )
    campaign_reward_note: str | None = Field(
        None,
        max_length=300,
        description="The office's reward rule in its own words (e.g. amounts), shown as given.",
    )
    poster_font: Path | None = Field(
        None, description="A CJK TrueType font for the poster (default: WenQuanYi / Noto CJK)."
    )

    metrics_token: SecretStr | None = Field(
        None,
        min_length=16,
        description="Bearer token that may read /metrics (a Prometheus scraper); admin keys "
        "may too. Unset: admin keys only.",
    )
    migrate_on_start: bool = True
    graceful_shutdown_s: int = Field(30, ge=0)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept ``a,b`` in the environment as well as a JSON list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator(
        "public_limit_check",
        "public_limit_tip",
        "public_limit_read",
        "public_limit_global",
        "public_limit_global_check",
    )
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        """``limits`` notation, e.g. ``10/minute;100/day``; refused at start, not at first use."""
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit ({exc}); e.g. 10/minute;100/day") from None
        return value

    @field_validator("camera_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'plantscout.db').resolve()}"

    @property
    def resolved_photo_dir(self) -> Path:
        return (self.photo_dir or self.data_dir / "photos").resolve()

    @model_validator(mode="after")
    def _budget_holds_a_request(self) -> Settings:
        if self.max_inflight_upload_bytes < self.max_request_bytes:
            raise ValueError(
                f"max_inflight_upload_bytes ({self.max_inflight_upload_bytes:,}) must hold at "
                f"least one whole request ({self.max_request_bytes:,} bytes: max_photos × "
                "max_photo_bytes + 1 MiB)"
            )
        return self

    @property
    def resolved_teaching_dir(self) -> Path:
        return (self.teaching_dir or self.data_dir / "teaching").resolve()

    @property
    def max_request_bytes(self) -> int:
        """A whole upload: every photo at its limit plus room for the form fields."""
        return self.max_photos * self.max_photo_bytes + 1024 * 1024

"""API key shapes. The key itself appears once, in the creation response."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from ..vocab import Role
from .common import Strict


class KeyCreate(Strict):
    role: Role
    name: str = Field(min_length=1, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=100)
    setup_url: str | None = Field(
        None,
        max_length=500,
        pattern=r"^https?://[^\s#]+$",
        description="The field page's address as phones reach it (e.g. https://office:8000/): "
        "the answer then carries a setup link and QR code with the key.",
    )

    @model_validator(mode="after")
    def _inspector_unit(self) -> KeyCreate:
        if self.role is Role.INSPECTOR and not self.unit:
            raise ValueError("an inspector key needs a unit")
        return self


class KeyInfo(BaseModel):
    id: str
    name: str
    role: Role
    unit: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeySetup(BaseModel):
    link: str = Field(description="Field page address with the key in the #fragment.")
    qr_png: str = Field(description="The link as a QR code: a PNG data URI (image src).")


class KeyCreated(KeyInfo):
    key: str = Field(description="The secret key. Shown only now; store it safely.")
    setup: KeySetup | None = Field(None, description="With `setup_url`: link and QR code.")

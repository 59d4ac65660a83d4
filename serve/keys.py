"""API keys: minted once, stored as a hash, looked up by their public id.

A key reads ``psk_<id>_<secret>``. ``id`` is public (it names the key in logs and audit
entries); only sha256(id:secret) is stored. The secret has 256 bits of entropy, so a fast hash
is the right tool here (slow password hashes exist for guessable secrets). Comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiKey, utcnow
from .vocab import Role

_KEY_RE = re.compile(r"^psk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: what the handlers and the audit trail see (never the secret)."""

    key_id: str
    name: str
    role: Role
    unit: str | None

    def can_see_unit(self, unit: str | None) -> bool:
        return self.role.allows(Role.REVIEWER) or (unit is not None and unit == self.unit)


@dataclass(frozen=True)
class MintedKey:
    key: str  # shown once
    record: ApiKey


def _hash(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def mint_key(session: Session, *, role: Role, name: str, unit: str | None) -> MintedKey:
    """Create a key. Inspectors must belong to a unit: they see only their unit's records."""
    if role is Role.INSPECTOR and not unit:
        raise ValueError("an inspector key needs a unit")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(id=key_id, secret_hash=_hash(key_id, secret), name=name, role=role, unit=unit)
    session.add(record)
    session.flush()
    return MintedKey(key=f"psk_{key_id}_{secret}", record=record)


def authenticate(session: Session, presented: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, malformed or revoked)."""
    match = _KEY_RE.match(presented.strip())
    if not match:
        return None
    key_id, secret = match.groups()
    record = session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.secret_hash, _hash(key_id, secret)):
        return None
    return Principal(key_id=record.id, name=record.name, role=Role(record.role), unit=record.unit)


def all_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (revoked ones too: the list is the record of who had access)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, key_id: str) -> ApiKey | None:
    record = session.get(ApiKey, key_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
    return record

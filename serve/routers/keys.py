"""API keys (admin): create, list, revoke. The secret is returned once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from ..deps import get_services, read_session, require_admin
from ..errors import NotFound
from ..keys import Principal, all_keys, mint_key, revoke_key
from ..models import ApiKey
from ..schemas.common import ERROR_RESPONSES
from ..schemas.keys import KeyCreate, KeyCreated, KeyInfo
from ..services import audit
from ..state import Services

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=ERROR_RESPONSES)


def _info(record: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=record.id,
        name=record.name,
        role=record.role,
        unit=record.unit,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    )


@router.post("", status_code=201, response_model=KeyCreated, summary="Create a key")
def create_key(
    body: KeyCreate,
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
) -> KeyCreated:
    with services.db.write() as session:
        minted = mint_key(session, role=body.role, name=body.name, unit=body.unit)
        audit.record(
            session,
            entity="api_key",
            entity_id=minted.record.id,
            action="created",
            changes={"role": body.role.value, "unit": body.unit, "name": body.name},
            actor=principal,
        )
    return KeyCreated(**_info(minted.record).model_dump(), key=minted.key)


@router.get("", response_model=list[KeyInfo], summary="List keys")
def list_keys(
    _principal: Principal = Depends(require_admin), session: Session = Depends(read_session)
) -> list[KeyInfo]:
    return [_info(k) for k in all_keys(session)]


@router.delete("/{key_id}", response_model=KeyInfo, summary="Revoke a key")
def delete_key(
    key_id: Annotated[str, Path(max_length=32)],
    principal: Principal = Depends(require_admin),
    services: Services = Depends(get_services),
) -> KeyInfo:
    with services.db.write() as session:
        record = revoke_key(session, key_id)
        if record is None:
            raise NotFound(f"no key {key_id!r}")
        audit.record(
            session,
            entity="api_key",
            entity_id=key_id,
            action="revoked",
            changes={},
            actor=principal,
        )
        return _info(record)

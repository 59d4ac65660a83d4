"""The audit trail: every create, change and import, with who, when and old → new."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..keys import Principal
from ..models import AuditEvent


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    action: str,
    changes: dict[str, tuple[Any, Any]] | dict[str, Any],
    actor: Principal | None,
) -> AuditEvent:
    """Add an audit row to the session (committed with the change it describes)."""
    event = AuditEvent(
        entity=entity,
        entity_id=entity_id,
        action=action,
        changes={
            k: [_plain(v[0]), _plain(v[1])] if isinstance(v, tuple) else _plain(v)
            for k, v in changes.items()
        },
        actor_key_id=actor.key_id if actor else None,
        actor_name=actor.name if actor else None,
        actor_role=actor.role.value if actor else None,
    )
    session.add(event)
    return event


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value changes, as ``{field: (old, new)}``."""
    return {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}


def history(session: Session, entity: str, entity_id: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )

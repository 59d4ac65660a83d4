"""FastAPI dependencies: the app's services, a read session, and the one auth check.

Auth lives only here: a handler declares ``principal: Principal = Depends(require(Role.X))``
and never looks at headers. No key → 401; a key whose role is too low → 403. Requests with a
body were already identified at the door (``middleware.py``), before the body was read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from .errors import Forbidden, Unauthorized
from .keys import Principal, authenticate
from .state import Services
from .vocab import Role

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer psk_…`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: psk_…`")


def get_services(request: Request) -> Services:
    return request.app.state.services


def read_session(services: Services = Depends(get_services)) -> Iterator[Session]:
    """A read-only session for the request (writes go through ``services.db.write()``)."""
    with services.db.read() as session:
        yield session


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request presents: ``X-API-Key``, else ``Authorization: Bearer …``."""
    if x_api_key:
        return x_api_key
    scheme, _, credentials = (authorization or "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def identify(services: Services, presented: str | None) -> Principal:
    """Who the key is, or a 401. Used at the door (``middleware.py``, before a request's body
    is read) and by :func:`require` for requests without a body."""
    if not presented:
        raise Unauthorized(
            "an API key is required (Authorization: Bearer psk_… or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with services.db.read() as session:
        principal = authenticate(session, presented)
    if principal is None:
        raise Unauthorized(
            "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require(role: Role) -> Callable[..., Principal]:
    """A dependency that admits keys of ``role`` or a higher one."""

    def dependency(
        request: Request,
        services: Services = Depends(get_services),
        bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
        header_key: str | None = Security(_header),
    ) -> Principal:
        principal = getattr(request.state, "principal", None)  # identified at the door
        if not isinstance(principal, Principal):
            principal = identify(services, header_key or (bearer.credentials if bearer else None))
            request.state.principal = principal
        if not principal.role.allows(role):
            raise Forbidden(f"this needs the {role.value} role; the key is {principal.role.value}")
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


require_inspector = require(Role.INSPECTOR)
require_reviewer = require(Role.REVIEWER)
require_admin = require(Role.ADMIN)

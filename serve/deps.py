"""FastAPI dependencies: the app's services, a read session, and the one auth check.

Auth lives only here: a handler declares ``principal: Principal = Depends(require(Role.X))``
and never looks at headers. No key → 401; a key whose role is too low → 403. Requests with a
body were already identified at the door (``middleware.py``), before the body was read.
"""

from __future__ import annotations

import hmac
import types
import typing
from collections.abc import Callable, Iterator

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from .errors import Forbidden, Unauthorized, Unprocessable
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


def require_metrics_access(
    services: Services = Depends(get_services),
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    header_key: str | None = Security(_header),
) -> None:
    """``/metrics``: the ``metrics_token`` setting (what a Prometheus scraper is given), or
    an admin key. Request counts per route and the model in use are not for everyone."""
    presented = header_key or (bearer.credentials if bearer else None)
    token = services.settings.metrics_token
    if token is not None and presented is not None:
        if hmac.compare_digest(presented.encode(), token.get_secret_value().encode()):
            return
    principal = identify(services, presented)
    if not principal.role.allows(Role.ADMIN):
        raise Forbidden(
            f"metrics need the admin role or the metrics token; the key is {principal.role.value}"
        )


require_inspector = require(Role.INSPECTOR)
require_reviewer = require(Role.REVIEWER)
require_admin = require(Role.ADMIN)


_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def no_repeated_fields(request: Request) -> None:
    """A field sent twice is refused (422), unless the route takes a list of it.

    Starlette keeps the last value of a repeated field and drops the others without a word:
    ``site_type=farmland&site_type=courtyard`` filed a courtyard. Mounted on the whole app,
    so no route can forget it. Repeatable: list-typed query parameters (``unit=a&unit=b``)
    and files (``photos``, ``frames``).
    """
    repeatable = _list_parameters(request.scope.get("route"))
    for name in set(request.query_params.keys()):
        if name not in repeatable and len(request.query_params.getlist(name)) > 1:
            raise _repeated(name)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORMS:
        form = await request.form()  # Starlette keeps it: the route reads the same parse
        for name in set(form.keys()):
            values = form.getlist(name)
            if len(values) > 1 and not all(isinstance(v, UploadFile) for v in values):
                raise _repeated(name)


def _repeated(name: str) -> Unprocessable:
    return Unprocessable(
        f"{name} is given more than once; send it once",
        details=[{"field": name, "message": "given more than once"}],
    )


def _list_parameters(route: object) -> frozenset[str]:
    """Names of the route's list-typed query parameters (worked out once per route)."""
    if not isinstance(route, APIRoute):
        return frozenset()
    cached = getattr(route, "_plantscout_list_parameters", None)
    if cached is None:
        cached = _find_list_parameters(route)
        route._plantscout_list_parameters = cached  # type: ignore[attr-defined]
    return cached


def _find_list_parameters(route: APIRoute) -> frozenset[str]:
    names = set()
    dependants, query = [route.dependant], []
    while dependants:  # the route's parameters and its dependencies', all the way down
        dependant = dependants.pop()
        query.extend(dependant.query_params)
        dependants.extend(dependant.dependencies)
    for field in query:
        annotation = field.field_info.annotation
        union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        candidates = typing.get_args(annotation) if union else (annotation,)
        if any(typing.get_origin(c) in (list, set, tuple, frozenset) for c in candidates):
            names.add(field.alias)
    return frozenset(names)

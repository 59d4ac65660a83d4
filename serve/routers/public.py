"""The public surface (no key): the check page, tip-offs, tip status, teaching material, poster.

Every route here passes :mod:`plantscout.serve.public_gate` first (switch → rate limits → body
size) and is answered with nothing but the asker's own data: a check's result, a tip's code,
the status of the tip whose code *and* secret were given, and reference texts. No route here
reads an inspection, a target, a unit or another tip. HTTP only; the work is in
``services/tips``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import FileResponse

from ..deps import get_services
from ..errors import NotFound, Unprocessable
from ..page_files import CONTENT_SECURITY_POLICY, WEB_DIR
from ..public_gate import guard, public_route
from ..schemas.tips import (
    PUBLIC_ERRORS,
    CheckForm,
    CheckResult,
    Learn,
    PublicStatus,
    StatusQuery,
    TipForm,
    TipReceipt,
)
from ..services.tips import teaching
from ..services.tips.check import check_result
from ..services.tips.filing import receive_tip, tip_metrics
from ..services.tips.poster import POSTERS
from ..services.tips.present import status_for
from ..state import Services
from ..uploads import accept_uploads

_check = APIRouter(route_class=public_route("check"))
_tip = APIRouter(route_class=public_route("tip"))
_read = APIRouter(route_class=public_route("read"))
TAGS = ["public (no key)"]


@_check.post(
    "/v1/public/check",
    response_model=CheckResult,
    tags=TAGS,
    summary="Is this a drug plant? Score 1–3 photos; nothing is kept",
    responses=PUBLIC_ERRORS,
)
def check(
    form: Annotated[CheckForm, Form(media_type="multipart/form-data")],
    services: Services = Depends(get_services),
) -> CheckResult:
    """The photos are scored by the served model and discarded: nothing is written to the
    photo store or the database. The answer says "may be …", "does not look like …" or "take a
    clearer photo" — never that a plant *is* a drug plant."""
    settings = services.settings
    if len(form.photos) > settings.public_max_photos:
        raise Unprocessable(
            f"{len(form.photos)} photos sent; at most {settings.public_max_photos}",
            details=[{"field": "photos", "message": f"at most {settings.public_max_photos}"}],
        )
    scoring = services.require_scoring()
    uploads = accept_uploads(form.photos, settings.public_max_photo_bytes)
    scored = scoring.score(uploads)
    for photo in scored:
        services.metrics.scores.labels(photo.score.verdict.value, "public_check").inc()
    result = check_result(
        scored, scoring.combined(scored), scoring.identity, teaching.photos_of(settings)
    )
    tip_metrics(services).checks.labels(result.outcome).inc()
    return result


@_tip.post(
    "/v1/public/tips",
    response_model=TipReceipt,
    status_code=201,
    tags=TAGS,
    summary="Send an anonymous tip-off",
    responses={
        **PUBLIC_ERRORS,
        200: {"description": "A re-send of a tip already received: the same code."},
        409: {"description": "The id was already used for a different tip."},
    },
)
def send_tip(
    response: Response,
    form: Annotated[TipForm, Form(media_type="multipart/form-data")],
    services: Services = Depends(get_services),
) -> TipReceipt:
    """Photos (optional), where (GPS, a pin, or words), what, and an optional contact. The
    answer is the tip code (and the secret, if the phone did not make one): with both, the
    sender follows the tip and claims a reward without giving a name."""
    received = receive_tip(services, form)
    if not received.created and not received.decoy:
        response.status_code = 200
    return TipReceipt(
        id=received.id,
        code=received.code,
        secret=received.secret,
        received_at=received.received_at,  # type: ignore[arg-type]
    )


@_read.post(
    "/v1/public/tips/status",
    response_model=PublicStatus,
    tags=TAGS,
    summary="A tip's progress, for whoever holds its code and secret",
    responses=PUBLIC_ERRORS,
)
def tip_status(query: StatusQuery, services: Services = Depends(get_services)) -> PublicStatus:
    """POST, so the secret never sits in a URL or a log. An unknown code and a wrong secret get
    the same 404 after the same work, so codes cannot be probed."""
    return status_for(services, query.code, query.secret)


@_read.get(
    "/v1/public/learn",
    response_model=Learn,
    tags=TAGS,
    summary="Teaching texts: species by stage, look-alikes, law, rewards (zh/en)",
    responses=PUBLIC_ERRORS,
)
def learn(services: Services = Depends(get_services)) -> Learn:
    scoring = services.scoring
    trained = set(scoring.scorer.card.label_keys) if scoring is not None else set()
    return teaching.learn(services.settings, trained)


@_read.get(
    "/v1/public/teaching/{name}",
    response_class=FileResponse,
    tags=TAGS,
    summary="A reference photo listed by the learn texts",
    responses=PUBLIC_ERRORS,
)
def teaching_photo(
    name: Annotated[str, Path(max_length=130)], services: Services = Depends(get_services)
) -> FileResponse:
    path = teaching.photos_of(services.settings).path(name)
    if path is None:
        raise NotFound(f"no reference photo {name!r}")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})


def check_page_url(request: Request, services: Services) -> str:
    configured = services.settings.public_url
    if configured:
        return configured
    return str(request.base_url).rstrip("/") + "/check"


@_read.get(
    "/v1/public/poster.{fmt}",
    tags=TAGS,
    summary="The printable A4 poster with a QR code to the check page",
    responses={200: {"content": {"image/png": {}, "application/pdf": {}}}, **PUBLIC_ERRORS},
    response_class=Response,
)
def poster(
    request: Request,
    fmt: Annotated[Literal["png", "pdf"], Path()],
    lang: Annotated[Literal["zh", "en"], Query()] = "zh",
    services: Services = Depends(get_services),
) -> Response:
    """The QR code points at ``PLANTSCOUT_PUBLIC_URL`` (else this server's ``/check``); a
    caller cannot choose another address."""
    settings = services.settings
    url = check_page_url(request, services)
    data = POSTERS.get(fmt, lang, url, settings.campaign_hotline, settings.poster_font)
    media = "application/pdf" if fmt == "pdf" else "image/png"
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'inline; filename="plantscout-poster-{lang}.{fmt}"',
            "Cache-Control": "public, max-age=3600",
        },
    )


# ---------- the pages (plain files from serve/web, behind the same switch) ----------

PAGES = {"check": "check.html", "learn": "learn.html"}


def _page(request: Request, name: str) -> FileResponse:
    guard(request, "read")
    return FileResponse(
        WEB_DIR / PAGES[name],
        media_type="text/html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Referrer-Policy": "no-referrer",
        },
    )


pages = APIRouter(include_in_schema=False)


@pages.get("/check")
@pages.get("/check.html")
def check_page(request: Request) -> FileResponse:
    return _page(request, "check")


@pages.get("/learn")
@pages.get("/learn.html")
def learn_page(request: Request) -> FileResponse:
    return _page(request, "learn")


router = APIRouter()
router.include_router(_check)
router.include_router(_tip)
router.include_router(_read)
router.include_router(pages)

"""HTTP routers, one per resource. ``create_app`` mounts every module listed in ``ROUTERS``.

To add a resource (e.g. the drone batch-scan jobs), write ``routers/<name>.py`` exposing a
``router = APIRouter(...)`` that uses the dependencies in ``plantscout.serve.deps`` (auth,
services, sessions), and add its module name here; or pass ``extra_routers`` to ``create_app``.
Paths under ``/v1/``; ``/`` is left for the field web page.
"""

ROUTERS: tuple[str, ...] = (
    "health",
    "score",
    "inspections",
    "targets",
    "exports",
    "reports",
    "keys",
    "admin",
    "scan_jobs",
    "models",  # model registry, promote/rollback/reload, reference galleries (issue 7)
    "planning",  # units, registries, history, priorities, plans, tracks, coverage (issue 14)
    "public",  # check page, tip-offs, tip status, teaching material, poster: no key (issue 15)
    "tips",  # tip triage, rewards and the office's numbers, for reviewers (issue 15)
)

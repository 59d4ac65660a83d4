"""What the service can store, in one place: the limits every input is checked against.

Values that Python accepts but a database cannot hold used to reach the database and come back
as 500s (or, on PostgreSQL only, as 500s that SQLite never showed): a time whose UTC value
leaves Python's year range, a keyset cursor beyond a 64-bit integer, a NUL character in text
(PostgreSQL ``text`` and ``jsonb`` refuse it), NaN in JSON (``jsonb`` refuses it), and JSON
nested deeply enough to exhaust the recursion limit. Each rule is written once here and
applied where input enters:

- URL paths and query strings: :class:`~plantscout.serve.middleware.RequestMiddleware`
  refuses a NUL before routing (so no path id or filter can carry one);
- request bodies: every request model derives from ``schemas.common.Strict``, which refuses
  NUL anywhere in the input and NaN / infinity in numbers;
- uploaded files (target imports): :func:`load_json` and :func:`find_nul`;
- time filters: :func:`clamp_instant` (nothing is stored outside the range, so clamping a
  filter to it changes no answer);
- times the service stores: :func:`storable_instant` (out-of-range times from a client or a
  camera are ignored and flagged, never stored: a phone's queue must always be able to file).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
RANGE_TEXT = "1900-01-01 to 2199-12-31 (UTC)"

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL_TEXT = "a NUL character (U+0000) or a lone surrogate, which cannot be stored"

MAX_SEQ = 2**63 - 1  # keyset cursors: PostgreSQL BIGINT
MAX_JSON_DEPTH = 32  # GeoJSON needs 4 (MultiPolygon coordinates) plus the document's own


def storable_instant(moment: datetime | None) -> bool:
    """Whether ``moment`` (aware) lies in the range the service stores.

    Compared before any conversion: turning ``0001-01-01T00:00+08:00`` into UTC overflows.
    """
    return moment is not None and EARLIEST <= moment < LATEST


def clamp_instant(moment: datetime) -> datetime:
    """A filter bound moved into the stored range: the same records match, nothing overflows."""
    if moment < EARLIEST:
        return EARLIEST
    if moment >= LATEST:
        return LATEST
    return moment.astimezone(UTC)


def nul_line(text: str) -> int | None:
    """The 1-based line of an imported file's first NUL character, or None: a file holding
    one is refused whole (any of its cells could carry it to the database)."""
    at = text.find("\x00")
    return None if at < 0 else text.count("\n", 0, at) + 1


def find_nul(value: Any, path: str = "") -> str | None:
    """The path (``a.b.2``) of the first string holding a NUL character, or a lone surrogate
    (text that is not Unicode: JSON's ``\\ud800`` escape makes one; no database encoding
    can store it), or None. Looks through dicts (keys and values), lists and tuples."""
    found = _walk(value, path, max_depth=None)
    return found[1] if found and found[0] == "nul" else None


def _walk(value: Any, path: str, max_depth: int | None) -> tuple[str, str] | None:
    """("nul" | "depth", where) for the first problem found, iteratively (no recursion).

    Paths are kept as (parent, key) links and spelled out only for the answer: a 20 MB
    import has millions of nodes.
    """
    stack: list[tuple[Any, Any, int]] = [(value, None, 0)]
    while stack:
        item, link, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return "nul", _spell(link, path)
            continue
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return "nul", _spell((link, key), path)
            children: Any = item.items()
        elif isinstance(item, list | tuple):
            children = enumerate(item)
        else:
            continue
        if max_depth is not None and depth + 1 > max_depth:
            return "depth", _spell(link, path)
        stack.extend((child, (link, key), depth + 1) for key, child in children)
    return None


def _spell(link: Any, root: str) -> str:
    parts: list[str] = []
    while link is not None:
        link, key = link
        parts.append(str(key))
    return ".".join([root] * bool(root) + parts[::-1]) or "value"


class JsonRefused(ValueError):
    """A JSON text the service will not take; the message says why, for a 422."""


def _no_constants(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number (the database cannot store it)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf, which PostgreSQL JSON refuses
        raise JsonRefused(f"{text[:40]} does not fit a 64-bit float")
    return value


def load_json(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted text: no NaN / Infinity, no NUL, bounded nesting.

    Nesting is bounded because every later step that walks the value (validation, the API's
    JSON encoder, exports) recurses: 100 000 brackets would exhaust the recursion limit there.
    """
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except JsonRefused:
        raise
    except ValueError as exc:  # JSONDecodeError, or an integer over 4,300 digits
        raise JsonRefused(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise JsonRefused(f"JSON is nested deeper than {max_depth} levels") from None
    problem = _walk(value, "", max_depth)
    if problem is not None:
        kind, where = problem
        if kind == "nul":
            raise JsonRefused(f"{where} holds {NUL_TEXT}")
        raise JsonRefused(f"JSON is nested deeper than {max_depth} levels (at {where})")
    return value

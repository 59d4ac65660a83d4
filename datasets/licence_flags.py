"""One word for how freely an image may be used, from the licence text a source states.

``open``: a licence that allows reuse (Creative Commons, public domain, MIT, Apache, BSD, GPL
family, "free to use"). ``research_only``: the source restricts use to research or
non-commercial work. ``none_stated``: no licence found — all rights reserved by default; such
images are flagged so a model card can say how many it trained on.
"""

from __future__ import annotations

import re

FLAGS = ("open", "research_only", "none_stated")

_NONE = re.compile(r"\b(none stated|not stated|no licen[cs]e|unknown|none)\b", re.I)
_RESEARCH = re.compile(
    r"\b(research[- ]use|research only|non-?commercial|academic|-nc\b|nc-)", re.I
)
_OPEN = re.compile(
    r"\b(cc[ -]?by|cc0|creative commons|public domain|mit\b|apache|bsd|gpl|agpl|"
    r"unlicense|free to use|feel free to use|odbl|cdla)",
    re.I,
)


def licence_flag(text: str) -> str:
    """Classify a licence statement; the most restrictive reading wins."""
    value = (text or "").strip()
    if not value:
        return "none_stated"
    if _RESEARCH.search(value):
        return "research_only"
    if _OPEN.search(value) and not value.lower().startswith(("none", "not stated", "no ")):
        return "open"
    if _NONE.search(value):
        return "none_stated"
    return "none_stated"

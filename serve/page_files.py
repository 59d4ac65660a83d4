"""Where the web pages' files live and the policy every page is served with.

Shared by the field page's mount (``routers/web.py``) and the public pages
(``routers/public.py``), which must send the same Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"

# The page's own files only: no inline script, no eval, no plug-ins, no framing, and requests
# to this origin alone. Leaflet positions its panes with inline ``style`` attributes, hence
# 'unsafe-inline' for styles (which cannot run code). Should a stored value ever reach the DOM
# as markup despite the page building every node with textContent, an injected handler or
# script is refused by the browser instead of reading the API key from localStorage.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

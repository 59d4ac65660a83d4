"""Setting up a phone by QR code (issue 13): a link to the field page that carries the key.

The key travels in the URL *fragment* (``…/#setup=psk_…``): browsers never send the fragment
to the server, so the key stays out of access logs, proxies and ``Referer`` headers. The page
reads it once, checks it with ``GET /v1/me`` and removes it from the address bar. The QR code
is drawn with segno (pure Python), as a PNG data URI the admin page shows as an image and
prints, or as text for a terminal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import segno

FRAGMENT = "setup="


def setup_link(service_url: str, key: str) -> str:
    """The field page's address with the key in the fragment."""
    parts = urlsplit(service_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("the service address must be an http(s) URL, e.g. https://office:8000/")
    base = service_url.split("#", 1)[0]
    if not base.endswith("/") and "?" not in base:
        base += "/"
    return f"{base}#{FRAGMENT}{key}"


def qr_data_uri(link: str) -> str:
    """The link as a QR code (error correction M: survives a crease or a smudge)."""
    return segno.make(link, error="m", micro=False).png_data_uri(scale=6, border=4)


def qr_terminal(link: str) -> str:
    """The QR code drawn with block characters, for ``plantscout keys create --qr -``."""
    import io

    buffer = io.StringIO()
    segno.make(link, error="m", micro=False).terminal(out=buffer, compact=True)
    return buffer.getvalue()


def save_qr(link: str, path: str) -> None:
    """Write the QR code to a file; the extension (.png, .svg, .pdf, .eps) picks the format."""
    segno.make(link, error="m", micro=False).save(path, scale=10, border=4)

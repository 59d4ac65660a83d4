"""``plantscout tips``: what the office that runs the public campaign does from a shell.

``teaching-photos`` installs reference photos for the learn and check pages, ``poster`` prints
the A4 poster with any address in its QR code (the web endpoint only ever encodes the
configured one), and ``summary`` prints the office's numbers.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import click

from .cli import _database, _settings


@click.group(name="tips")
def tips_app() -> None:
    """Public tip-offs: teaching photos, the poster, the office's numbers."""


@tips_app.command("teaching-photos")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--per-label", type=click.IntRange(1, 50), default=6, show_default=True)
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Labels to take (default: opium_poppy, cannabis and their look-alikes).",
)
@click.option("--licence", default=None, help="Regex a licence must match (narrows the default).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder (default: the service's teaching_dir, <data_dir>/teaching).",
)
def teaching_photos(
    manifest: Path, per_label: int, labels: tuple[str, ...], licence: str | None, out: Path | None
) -> None:
    """Copy publicly showable reference photos (small, metadata dropped) from a manifest."""
    from .services.tips.reference import DEFAULT_ALLOW, DEFAULT_LABELS, build_teaching

    target = out or _settings().resolved_teaching_dir
    built = build_teaching(
        manifest,
        target,
        labels=labels or DEFAULT_LABELS,
        per_label=per_label,
        allow=licence or DEFAULT_ALLOW,
    )
    for label, count in built.chosen.items():
        click.echo(f"{label}: {count} photo(s)")
    click.echo(f"left out for their licence: {built.refused_licence}; written to {target}")


@tips_app.command("poster")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--url", required=True, help="The check page's public address (the QR code).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def poster(out: Path, url: str, lang: str) -> None:
    """Write the A4 poster as PNG or PDF (by the file's extension)."""
    from .services.tips.poster import PosterCache

    fmt = "pdf" if out.suffix.lower() == ".pdf" else "png"
    settings = _settings()
    data = PosterCache().get(fmt, lang, url, settings.campaign_hotline, settings.poster_font)
    out.write_bytes(data)
    click.echo(f"{out} ({len(data):,} bytes, A4, QR → {url})")


@tips_app.command("summary")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
def summary(since, until) -> None:
    """Tips per week, share confirmed, time to first check, rewards paid (JSON)."""
    from .services.tips.stats import summary as compute

    end = until.date() if until else date.today()
    start = since.date() if since else end - timedelta(weeks=12)
    db = _database(_settings())
    try:
        with db.read() as session:
            result = compute(session, start, end)
    finally:
        db.dispose()
    click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=1))

"""``plantscout score IMAGE...``: score photos from the command line.

Without ``--model`` the bundle comes from :func:`plantscout.model.lifecycle.resolve.resolve_bundle`
(the registry's current bundle, else ``$PLANTSCOUT_MODEL``, else the released default), the
same order every command and the service follow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import ImageError, PlantscoutError

# The --model option of every command that scores: one spelling of the order it falls back on.
model_option = click.option(
    "--model",
    "-m",
    type=click.Path(path_type=Path),
    default=None,
    help="Bundle directory (default: the registry's current bundle, else $PLANTSCOUT_MODEL, "
    "else the released default).",
)


@click.command(name="score")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per image.")
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="ONNX Runtime intra-op threads."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Images per network call.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of the table.",
)
def app(
    images: tuple[Path, ...],
    model: Path | None,
    as_json: bool,
    threads: int | None,
    batch_size: int,
    lang: str,
) -> None:
    """Score each IMAGE and print its verdict. Exit code 1 if any image could not be read."""
    from .lifecycle.resolve import resolve_bundle
    from .scorer import Scorer

    try:
        scorer = Scorer(resolve_bundle(model).path, intra_op_threads=threads, batch_size=batch_size)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc

    failures = 0
    rows: list[tuple[str, dict]] = []
    for path in images:
        try:
            result = scorer.score_image(scorer.read(path)).as_dict()
        except (ImageError, OSError) as exc:
            failures += 1
            error = (
                exc.as_dict()
                if isinstance(exc, ImageError)
                else {"code": "unreadable", "message": str(exc)}
            )
            if as_json:
                print(json.dumps({"file": str(path), "error": error}, ensure_ascii=False))
            else:
                click.secho(f"{path}: {error['message']}", err=True, fg="red")
            continue
        if as_json:
            print(json.dumps({"file": str(path), **result}, ensure_ascii=False))
        else:
            rows.append((str(path), result))
    if not as_json:
        _print_table(rows, scorer.identity, lang)
    sys.stdout.flush()
    if failures:
        sys.exit(1)


def _print_table(rows: list[tuple[str, dict]], identity: dict[str, str], lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    zh = lang != "en"
    table = Table(
        title=f"{identity['name']} {identity['version']} ({identity['sha256'][:12]})",
        show_lines=False,
    )
    for header in (("照片", "Photo"), ("结论", "Verdict"), ("物种", "Species"), ("说明", "Note")):
        table.add_column(header[0] if zh else header[1])
    verdict_names = {
        "suspected": ("疑似", "suspected"),
        "review": ("需复核", "review"),
        "clear": ("未发现", "clear"),
        "unusable": ("无法判断", "unusable"),
    }
    for path, result in rows:
        species = [
            f"{s['name']['zh' if zh else 'en']}: "
            + (f"{s['probability']:.2f}" if s["probability"] is not None else "—")
            + (f" [{s['level']}]" if s["level"] else "")
            for s in result["species"]
        ]
        notes = [s["message"]["zh" if zh else "en"] for s in result["species"] if s["message"]]
        if result["message"]:
            notes.append(result["message"]["zh" if zh else "en"])
        names = verdict_names[result["verdict"]]
        cells = (
            Path(path).name,
            names[0] if zh else names[1],
            "\n".join(species),
            "\n".join(notes),
        )
        table.add_row(*(escape(cell) for cell in cells))  # "[alert]" is text, not rich markup
    Console().print(table)

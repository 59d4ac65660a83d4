"""``plantscout model``: the local bundle registry (list with cards, add, promote, rollback).

    plantscout model add runs/2024-06/bundle --promote
    plantscout model list
    plantscout model promote plantscout-1.3.0-3f2a…      # a running service swaps within seconds
    plantscout model rollback
    plantscout model which                                # what `score` and `scan` use now

The registry folder is ``--registry``, else ``$PLANTSCOUT_REGISTRY``, else ``var/models``
(the service's default data folder). A running service watches its ``CURRENT`` pointer.
"""

from __future__ import annotations

import getpass
import json
import shutil
from pathlib import Path

import click

from .cli import model_option
from .errors import PlantscoutError

_REGISTRY = click.option(
    "--registry",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Registry folder (default: $PLANTSCOUT_REGISTRY, else var/models).",
)


def _registry(root: Path | None):
    from .lifecycle.registry import Registry

    return Registry(root)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in containers without /etc/passwd entries
        return ""


@click.group(name="model")
def app() -> None:
    """List, add, promote and roll back model bundles (a local registry)."""


@app.command(name="list")
@_REGISTRY
@click.option("--json", "as_json", is_flag=True, help="Print the cards as JSON.")
def list_(root: Path | None, as_json: bool) -> None:
    """Registered bundles with their cards; the current one is marked."""
    registry = _registry(root)
    current = registry.current_key()
    cards = [{**e.card_summary(), "current": e.key == current} for e in registry.entries()]
    if as_json:
        click.echo(json.dumps(cards, ensure_ascii=False, indent=2))
        return
    if not cards:
        click.echo(f"no bundles in {registry.root}: add one with `plantscout model add DIR`")
        return
    for card in cards:
        mark = "*" if card["current"] else " "
        click.echo(f"{mark} {card['key']}")
        click.echo(f"    {card['name']} {card['version']}  created {card['created']}")
        click.echo(f"    labels: {', '.join(card['labels'])}")
        if card["untrained_controlled"]:
            click.echo(f"    cannot see: {', '.join(card['untrained_controlled'])}")
        metrics = card.get("metrics")
        if isinstance(metrics, dict):
            brief = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
            if brief:
                click.echo(f"    metrics: {json.dumps(brief, ensure_ascii=False)}")
        registry_gallery = registry.gallery_path(card["sha256"])
        if registry_gallery.exists():
            click.echo(f"    gallery: {registry_gallery.name}")
    click.echo("(* = current)")


@app.command()
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_REGISTRY
@click.option("--promote", is_flag=True, help="Make it current right away.")
def add(bundle_dir: Path, root: Path | None, promote: bool) -> None:
    """Copy a bundle into the registry (validated first)."""
    registry = _registry(root)
    try:
        entry = registry.add(bundle_dir, actor=_actor())
        click.echo(f"registered {entry.key}")
        if promote:
            registry.promote(entry.key, actor=_actor())
            click.echo(f"current: {entry.key}")
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc


@app.command()
@click.argument("version")
@_REGISTRY
@click.option("--note", default="", help="Why (kept in the history).")
def promote(version: str, root: Path | None, note: str) -> None:
    """Make VERSION current (folder name, version, or sha256 prefix)."""
    registry = _registry(root)
    try:
        entry = registry.promote(version, actor=_actor(), note=note)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"current: {entry.key} (a running service picks it up within seconds)")


@app.command()
@_REGISTRY
@click.option("--note", default="", help="Why (kept in the history).")
def rollback(root: Path | None, note: str) -> None:
    """Return to the bundle that was current before this one."""
    registry = _registry(root)
    try:
        entry = registry.rollback(actor=_actor(), note=note)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"current: {entry.key}")


@app.command()
@_REGISTRY
def history(root: Path | None) -> None:
    """Every add / promote / rollback, oldest first."""
    for event in _registry(root).history():
        click.echo(json.dumps(event, ensure_ascii=False))


@app.command()
@click.argument("version", required=False)
@_REGISTRY
def show(version: str | None, root: Path | None) -> None:
    """The full card of VERSION (default: the current bundle)."""
    registry = _registry(root)
    try:
        entry = registry.find(version) if version else registry.current()
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    if entry is None:
        raise click.ClickException("no current bundle; name one")
    click.echo(json.dumps(entry.bundle.card.as_dict(), ensure_ascii=False, indent=2))


@app.command()
@model_option
@_REGISTRY
@click.option("--json", "as_json", is_flag=True, help="Print path, source and identity as JSON.")
def which(model: Path | None, root: Path | None, as_json: bool) -> None:
    """The bundle `score`, `scan` and `gallery` use now, and which step of the order chose it.

    The order: --model, else the registry's current bundle, else $PLANTSCOUT_MODEL, else the
    released default.
    """
    from .bundle import load_bundle
    from .lifecycle.resolve import resolve_bundle

    try:
        choice = resolve_bundle(model, registry=_registry(root))
        bundle = load_bundle(choice.path, check_onnx=False)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    if as_json:
        data = {"path": str(choice.path), "source": choice.source, "key": choice.key}
        click.echo(json.dumps({**data, "model": bundle.identity()}, ensure_ascii=False))
        return
    click.echo(f"{bundle.name} {bundle.version} ({bundle.sha256[:12]})")
    click.echo(f"  from {choice.describe()}")


@app.command(name="attach-gallery")
@click.argument("gallery_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_REGISTRY
def attach_gallery(gallery_file: Path, root: Path | None) -> None:
    """Use GALLERY_FILE with the bundle it was built on (a running service reloads it)."""
    from .gallery.gallery import Gallery

    registry = _registry(root)
    try:
        gallery = Gallery.load(gallery_file)
        sha = gallery.bundle.get("sha256", "")
        matches = [e for e in registry.entries() if e.bundle.sha256 == sha]
        if not matches:
            raise click.ClickException(
                f"the gallery was built with bundle {sha[:12]}…, which is not registered: "
                "`plantscout model add` it first, or rebuild the gallery for a registered one"
            )
        target = registry.gallery_path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(gallery_file, tmp)
        tmp.replace(target)
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"gallery attached to {matches[0].key}")


@app.command(name="detach-gallery")
@click.argument("version", required=False)
@_REGISTRY
def detach_gallery(version: str | None, root: Path | None) -> None:
    """Stop using a gallery with VERSION (default: the current bundle)."""
    registry = _registry(root)
    try:
        entry = registry.find(version) if version else registry.current()
    except PlantscoutError as exc:
        raise click.ClickException(exc.message) from exc
    if entry is None:
        raise click.ClickException("no current bundle; name one")
    path = registry.gallery_path(entry.bundle.sha256)
    if path.exists():
        path.unlink()
        click.echo(f"gallery detached from {entry.key}")
    else:
        click.echo(f"{entry.key} has no gallery")

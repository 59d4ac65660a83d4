"""The ``plantscout`` command: one root that mounts each part's commands lazily.

Commands are listed here as data (name -> "module:attribute" + one-line help) and imported
only when invoked, so ``plantscout --help`` is fast and works on a machine that installed
only the inference core (no torch, no web stack). A part whose extra is not installed says
which extra to install instead of failing with a traceback.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

from plantscout import __version__


@dataclass(frozen=True)
class CommandSpec:
    target: str  # "package.module:attribute" naming a click command or group
    help: str
    extra: str | None = None  # the pip extra that provides its dependencies


COMMANDS: dict[str, CommandSpec] = {
    "score": CommandSpec("plantscout.model.cli:app", "Score photos with a model bundle."),
    "scan": CommandSpec(
        "plantscout.drone.cli:app", "Scan drone frames or orthomosaics for suspected spots."
    ),
    "gallery": CommandSpec(
        "plantscout.model.gallery_cli:app", "Manage reference galleries (few-shot labels)."
    ),
    "model": CommandSpec(
        "plantscout.model.registry_cli:app", "List, promote and roll back model bundles."
    ),
    "datasets": CommandSpec(
        "plantscout.datasets.cli:app", "Build, inspect and import training datasets."
    ),
    "train": CommandSpec(
        "plantscout.training.cli:train_app", "Train a model from a config.", "train"
    ),
    "evaluate": CommandSpec(
        "plantscout.training.evaluate_cli:app", "Evaluate a bundle or run on a dataset split."
    ),
    "export": CommandSpec(
        "plantscout.training.cli:export_app", "Export a training run as a model bundle.", "train"
    ),
    "serve": CommandSpec("plantscout.serve.cli:serve_app", "Run the inspection service.", "serve"),
    "db": CommandSpec("plantscout.serve.cli:db_app", "Database migrations.", "serve"),
    "keys": CommandSpec("plantscout.serve.cli:keys_app", "Create and revoke API keys.", "serve"),
    "targets": CommandSpec(
        "plantscout.serve.cli:targets_app", "Import and list survey targets.", "serve"
    ),
    "plan": CommandSpec(
        "plantscout.serve.planning_cli:plan_app",
        "Patrol planning: boundaries, history, priorities, plans, coverage, back-test.",
        "serve",
    ),
    "report": CommandSpec(
        "plantscout.serve.planning_cli:report_app", "Period report upward (XLSX / CSV).", "serve"
    ),
    "tips": CommandSpec(
        "plantscout.serve.tips_cli:tips_app",
        "Public tip-offs: teaching photos, the poster, the office's numbers.",
        "serve",
    ),
}


def _load(name: str) -> click.Command:
    spec = COMMANDS[name]
    module_name, _, attribute = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or "a dependency"
        if spec.extra and not missing.startswith("plantscout"):
            hint = f'install it with: pip install -e ".[{spec.extra}]"'
        else:
            hint = "this part of plantscout is not available in this installation"
        raise click.ClickException(f"'{name}' needs {missing}: {hint}") from exc
    command = getattr(module, attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{spec.target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return _load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import torch or the web stack: use the registry's text.
        rows = [(name, spec.help) for name, spec in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plantscout")
def cli() -> None:
    """plantscout — suspected opium poppy and cannabis in field photos and drone frames.

    罂粟与大麻疑似植株识别：现场照片、无人机影像与巡查记录。
    """


def main() -> None:
    cli(prog_name="plantscout")


if __name__ == "__main__":
    main()

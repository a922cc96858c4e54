"""Command line: ``python -m sd_scripts_bridge install|doctor|plan|train`` (run from the pack folder).

Each subcommand is a thin layer over the module that does the work (install.py, doctor.py,
plan/build.py, run/runner.py); errors are :class:`BridgeError` messages printed to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..engine.pins import ENGINE_COMMIT, TESTED_TORCH_SPEC
from ..errors import BridgeError, TrainingCancelledError

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except TrainingCancelledError as error:
        print(f"cancelled: {error}", file=sys.stderr)
        return 130
    except BridgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sd_scripts_bridge",
        description="Install, check, plan and run kohya sd-scripts FLUX LoRA training.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_install_command(commands)
    add_doctor_command(commands)
    add_plan_command(commands)
    add_train_command(commands)
    return parser


def add_install_command(commands: argparse._SubParsersAction) -> None:
    install = commands.add_parser("install", help="install the pinned engine into its own folder and venv")
    install.add_argument(
        "--engine", type=Path, help="engine folder (default: $IDENTITY_LORA_ENGINE or ./engine)"
    )
    install.add_argument("--from", dest="from_path", type=Path, help="copy this local sd-scripts checkout")
    install.add_argument(
        "--assume-commit",
        metavar="SHA",
        help="the commit a --from copy without .git is (its key files are still checked against the pin)",
    )
    install.add_argument("--python", default=sys.executable, help="interpreter that creates the venv")
    install.add_argument(
        "--torch-spec",
        default=" ".join(TESTED_TORCH_SPEC),
        help=f"torch requirement(s) installed first and held (default: {' '.join(TESTED_TORCH_SPEC)}; "
        "'' lets the engine's requirements choose)",
    )
    install.add_argument("--tokenizers", type=Path, help="folder with the offline CLIP and T5 tokenizers")
    install.add_argument(
        "--allow-unpinned", action="store_true", help=f"accept a commit other than {ENGINE_COMMIT}"
    )
    install.set_defaults(handler=run_install)


def run_install(args: argparse.Namespace) -> int:
    from ..engine.folder import engine_root_from
    from ..engine.install import InstallOptions, install_engine

    options = InstallOptions(
        engine_root=engine_root_from(args.engine),
        python=args.python,
        from_path=args.from_path,
        assume_commit=args.assume_commit,
        torch_spec=tuple(shlex.split(args.torch_spec)),
        tokenizers=args.tokenizers,
        allow_unpinned=args.allow_unpinned,
    )
    engine = install_engine(options)
    print(f"engine installed: {engine.root}")
    print(f"check it with: python -m sd_scripts_bridge doctor --engine {engine.root}")
    return 0


def add_doctor_command(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser("doctor", help="check an installed engine")
    doctor.add_argument(
        "--engine", type=Path, help="engine folder (default: $IDENTITY_LORA_ENGINE or ./engine)"
    )
    doctor.add_argument("--allow-unpinned", action="store_true", help="accept an engine at another commit")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    from ..engine.doctor import run_checks

    report = run_checks(args.engine, allow_unpinned=args.allow_unpinned)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0 if report.ok else 1


def add_plan_command(commands: argparse._SubParsersAction) -> None:
    from .plan_command import add_plan_arguments

    plan = commands.add_parser("plan", help="print the training plan (commands, dataset TOML, warnings)")
    add_plan_arguments(plan)
    plan.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    from .plan_command import plan_from_args

    plan = plan_from_args(args)
    if args.json:
        print(json.dumps(plan_json(plan), indent=2))
    else:
        for phase in plan.phases:
            print(f"# phase {phase.name}: {phase.max_train_steps} steps")
            print(shlex.join(phase.argv))
        for warning in plan.warnings:
            print(f"warning: {warning}")
    return 0


def plan_json(plan) -> dict:
    """The plan as printed by ``plan --json``: the first phase's ``argv`` plus every phase."""
    data = plan.to_dict()
    data["argv"] = list(plan.phases[0].argv)
    data["phases"] = [
        {**phase_dict, "output_file": str(phase.output_file)}
        for phase, phase_dict in zip(plan.phases, data["phases"], strict=True)
    ]
    return data


def add_train_command(commands: argparse._SubParsersAction) -> None:
    from .plan_command import add_plan_arguments
    from .train_command import add_train_arguments

    train = commands.add_parser(
        "train", help="plan, train and publish (Ctrl-C cancels, keeping a resumable state)"
    )
    add_plan_arguments(train)
    add_train_arguments(train)
    train.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from .train_command import run_train as train

    return train(args)

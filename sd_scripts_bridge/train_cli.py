"""The ``train`` subcommand: plan, run and publish from a terminal, with Ctrl-C as Cancel.

It is the same path the TrainIdentityLoRA node takes (``build_plan`` then ``run_training``), with
progress printed as lines and SIGINT turned into the runner's cancel request, so the engine stops
within 10 s and leaves a resumable state (re-run the same command to continue).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .model import ProgressEvent
from .runner import run_training

CANCELLED_EXIT_CODE = 130


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--publish-dir", type=Path, help="folder for the finished LoRA (default: the run folder)"
    )
    parser.add_argument(
        "--resume-from", type=Path, help="a *-state folder (default: the newest one of this run)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing published LoRA")


def print_event(event: ProgressEvent) -> None:
    if event.kind == "step":
        loss = "?" if event.loss is None else f"{event.loss:.4g}"
        rate = "" if event.sec_per_step is None else f"  {event.sec_per_step:.2f} s/step"
        eta = "" if event.eta_seconds is None else f"  ETA {event.eta_seconds:.0f} s"
        print(f"[{event.phase}] step {event.step}/{event.total}  loss {loss}{rate}{eta}", flush=True)
    elif event.kind in ("checkpoint", "phase") or event.message:
        where = f" {event.path}" if event.path else ""
        print(f"[{event.phase}] {event.message or event.kind}{where}", flush=True)


def run_train(args: argparse.Namespace) -> int:
    from .engine import engine_root_from, locate_engine
    from .plan_cli import plan_from_args

    plan = plan_from_args(args)
    engine = locate_engine(engine_root_from(args.engine))
    for warning in plan.warnings:
        print(f"warning: {warning}", flush=True)
    cancel = _cancel_on_sigint()
    result = run_training(
        plan,
        engine,
        on_event=print_event,
        should_cancel=cancel.is_set,
        resume_from=args.resume_from,
        overwrite=args.overwrite,
    )
    summary = {
        "lora_path": str(result.lora_path),
        "steps": result.steps,
        "final_loss": result.final_loss,
        "run_dir": str(result.run_dir),
        "log": str(result.log_path),
        "loss_csv": str(result.loss_csv),
    }
    print(json.dumps(summary, indent=2) if args.json else f"LoRA published: {result.lora_path}")
    return 0


def _cancel_on_sigint() -> threading.Event:
    """Ctrl-C sets the event the runner polls instead of killing this process mid-supervision."""
    cancel = threading.Event()

    def request_cancel(_signum, _frame):
        print("cancelling: stopping the engine and keeping its last state...", file=sys.stderr, flush=True)
        cancel.set()

    signal.signal(signal.SIGINT, request_cancel)
    return cancel

"""The ``train`` subcommand: the training job from a terminal, with Ctrl-C as Cancel.

It runs the same job as the TrainIdentityLoRA node (``job.run_job``: reuse, resume, train,
validation and loss capture, checkpoints, publish, report), prints the same progress lines, and
turns SIGINT into the job's cancel request, so the engine stops within 10 s and leaves a
resumable state (run the same command again to continue).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ..job import JobOptions, JobResult, run_job
from ..model import ProgressEvent
from ..run.progress_text import progress_line, worth_showing


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--publish-dir", type=Path, help="folder for the finished LoRA (default: the run folder)"
    )
    parser.add_argument(
        "--resume-from", type=Path, help="a *-state folder (default: the newest one of this run)"
    )
    parser.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="start again from step 0; an earlier run folder with saved states is renamed, not deleted",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing published LoRA")
    parser.add_argument(
        "--no-ram-check",
        dest="ram_check",
        action="store_false",
        help="start even when the engine's estimated RAM peak exceeds the available RAM (still reported)",
    )
    parser.add_argument(
        "--no-oom-fallback",
        dest="oom_fallback",
        action="store_false",
        help="stop at an out-of-memory error instead of continuing on the next smaller VRAM tier",
    )


def print_event(event: ProgressEvent) -> None:
    if worth_showing(event):
        print(progress_line(event), flush=True)


def run_train(args: argparse.Namespace) -> int:
    from .plan_command import request_from_args

    request, engine = request_from_args(args)
    cancel = _cancel_on_sigint()
    result = run_job(
        request,
        engine,
        on_event=print_event,
        should_cancel=cancel.is_set,
        options=JobOptions(
            resume=args.resume,
            overwrite=args.overwrite,
            resume_from=args.resume_from,
            holder="python -m sd_scripts_bridge train",
            recover_from_oom=args.oom_fallback,
            check_ram=args.ram_check,
        ),
    )
    if args.json:
        print(json.dumps(result_record(result), indent=2))
        return 0
    print(result.summary)
    print(f"Run folder: {result.run_dir}")
    if result.report_path:
        print(f"Report: {result.report_path}")
    print(f"LoRA published: {result.lora_path}")
    return 0


def result_record(result: JobResult) -> dict:
    training = result.training
    return {
        "lora_path": str(result.lora_path),
        "reused": result.reused,
        "request_key": result.key,
        "run_dir": str(result.run_dir),
        "steps": training.steps if training else None,
        "final_loss": training.final_loss if training else None,
        "checkpoints": [{"step": c.step, "path": str(c.path)} for c in result.checkpoints],
        "report": str(result.report_path) if result.report_path else None,
        "vram_tier": result.plan.tier.name if result.plan else None,
        "oom_recoveries": [recovery.record() for recovery in result.recoveries],
    }


def _cancel_on_sigint() -> threading.Event:
    """Ctrl-C sets the event the runner polls instead of killing this process mid-supervision."""
    cancel = threading.Event()

    def request_cancel(_signum, _frame):
        print("cancelling: stopping the engine and keeping its last state...", file=sys.stderr, flush=True)
        cancel.set()

    signal.signal(signal.SIGINT, request_cancel)
    return cancel

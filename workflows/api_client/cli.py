"""The command line: ``python workflows/queue_client.py WORKFLOW.json ... [--server URL] [--set KEY=VALUE]``.

Exit codes: 0 every job succeeded; 1 a job was rejected by validation or failed while running;
2 bad command line, unreadable workflow or unreachable server; 130 cancelled with Ctrl-C (the
prompt is interrupted and removed from the queue).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from .connection import ComfyClient
from .errors import ClientError
from .jobs import Dispatcher, Job
from .shortcuts import apply_settings, valid_keys_text
from .workflow import load_workflow


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python workflows/queue_client.py",
        description="Queue API-format ComfyUI workflows, follow their progress and print their results.",
    )
    parser.add_argument("workflows", nargs="+", help="API-format workflow JSON file(s)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        help="ComfyUI server URL (repeat to spread jobs over servers); default http://127.0.0.1:8188",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a named shortcut (see --list-keys) or NODE_ID.INPUT",
    )
    parser.add_argument("--jobs", type=int, default=1, help="queue each workflow this many times")
    parser.add_argument("--download", metavar="DIR", help="save output images into DIR")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files of the same name in the --download folder"
    )
    parser.add_argument("--timeout", type=float, default=24 * 3600, help="seconds to wait for one job")
    parser.add_argument("--list-keys", action="store_true", help="print the --set keys this workflow takes")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    _ctrl_c_cancels()
    servers = args.server or ["http://127.0.0.1:8188"]
    jobs: list[Job] = []
    try:
        for path in args.workflows:
            workflow = load_workflow(path)
            if args.list_keys:
                print(f"{path}: {valid_keys_text(workflow)}", file=out)
                continue
            prepared = apply_settings(workflow, args.settings)
            for _ in range(max(args.jobs, 1)):
                jobs.append(Job(str(len(jobs) + 1), prepared))
    except ClientError as error:
        print(f"error: {error}", file=err)
        return 2
    if args.list_keys:
        return 0
    for url in servers:
        try:
            ComfyClient(url, timeout=10).system_stats()
        except ClientError as error:
            print(f"error: {error}", file=err)
            return 2
    dispatcher = Dispatcher(servers, out, err, args.download, args.timeout, args.overwrite)
    try:
        dispatcher.run_all(jobs)
    except KeyboardInterrupt:
        print("Ctrl-C: cancelling", file=out, flush=True)
        dispatcher.cancel()
        dispatcher.wait(timeout=15)  # let the followers see the server confirm the interruption
        return 130
    return exit_code(jobs, out)


def _ctrl_c_cancels() -> None:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt, which cancels the jobs, even when this process was
    started with SIGINT ignored (a job started with ``&`` from a script inherits that)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def exit_code(jobs: Sequence[Job], out: TextIO) -> int:
    outcomes = [job.outcome for job in jobs]
    if any(o == "unreachable" for o in outcomes):
        return 2
    if all(o == "success" for o in outcomes):
        return 0
    if len(jobs) > 1:
        print(f"{outcomes.count('success')} of {len(jobs)} jobs succeeded", file=out)
    return 130 if all(o == "cancelled" for o in outcomes) else 1


def run_as_program() -> int:
    """``main`` as a program's exit status; a second Ctrl-C while cancelling exits with 130 too."""
    try:
        return main()
    except KeyboardInterrupt:
        return 130

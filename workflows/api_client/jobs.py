"""Jobs over one or more servers: each server runs one job at a time, and a job goes to a server
once its queue is empty (other users' work first)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from .connection import ComfyClient
from .errors import ClientError, PromptRejected, ServerUnreachable
from .results import PromptRun, describe_failure, download_images, print_results
from .safe_text import clean
from .terminal import ProgressPrinter, WholeLines


@dataclass
class Job:
    label: str
    workflow: dict[str, Any]
    prompt_id: str | None = None
    client: ComfyClient | None = None
    outcome: str = "pending"  # pending | success | error | rejected | cancelled | unreachable
    message: str = ""


class Dispatcher:
    """Runs jobs, one at a time per server, handing each job to a server that is idle."""

    def __init__(
        self,
        servers: Sequence[str],
        out: TextIO,
        err: TextIO,
        download: str | None,
        timeout: float,
        overwrite: bool = False,
    ) -> None:
        self.clients = [ComfyClient(url) for url in servers]
        self.out = WholeLines(out)
        self.err = WholeLines(err)
        self.download = download
        self.overwrite = overwrite
        self.timeout = timeout
        self.pending: list[Job] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.running: list[Job] = []

    def run_all(self, jobs: Sequence[Job]) -> None:
        self.pending = list(jobs)
        self.threads = [threading.Thread(target=self._worker, args=(c,), daemon=True) for c in self.clients]
        for thread in self.threads:
            thread.start()
        self.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Join the workers in short steps, so the main thread still sees Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            while thread.is_alive() and (deadline is None or time.monotonic() < deadline):
                thread.join(0.2)

    def _next_job(self) -> Job | None:
        with self.lock:
            return self.pending.pop(0) if self.pending else None

    def _worker(self, client: ComfyClient) -> None:
        while True:
            if not self._wait_idle(client):
                return
            job = self._next_job()
            if job is None:
                return
            self._run_job(client, job)

    def _wait_idle(self, client: ComfyClient) -> bool:
        """Waits until ``client``'s server has nothing running or pending (another user's work)."""
        announced = False
        while self.pending:
            try:
                if client.is_idle():
                    return True
            except ClientError as error:
                print(f"error: {error}", file=self.err, flush=True)
                return False
            if not announced:
                print(f"{client.url} is busy; waiting for its queue to empty", file=self.out, flush=True)
                announced = True
            time.sleep(1.0)
        return False

    def _run_job(self, client: ComfyClient, job: Job) -> None:
        label = job.label if len(self.clients) > 1 or job.label != "1" else ""
        in_place = len(self.clients) == 1 and hasattr(self.out, "isatty") and self.out.isatty()
        printer = ProgressPrinter(job.workflow, self.out, label, in_place=in_place)
        job.client = client
        with self.lock:
            self.running.append(job)

        def remember(prompt_id: str) -> None:
            job.prompt_id = prompt_id
            printer.say(f"queued prompt {prompt_id} on {client.url}")

        try:
            run = client.run(job.workflow, on_message=printer, timeout=self.timeout, on_queued=remember)
        except PromptRejected as error:
            job.outcome, job.message = "rejected", str(error)
        except ServerUnreachable as error:
            job.outcome, job.message = "unreachable", str(error)
        except ClientError as error:
            job.outcome, job.message = "error", str(error)
        else:
            printer.finish()
            self._report(client, job, run, printer)
        finally:
            printer.finish()
            with self.lock:
                self.running.remove(job)
        if job.outcome != "success":
            prefix = printer.label
            print(f"{prefix}error: {job.message}", file=self.err, flush=True)

    def _report(self, client: ComfyClient, job: Job, run: PromptRun, printer: ProgressPrinter) -> None:
        print_results(run, job.workflow, self.out, printer.label.strip("[] "))
        if run.status != "success":
            job.outcome = "cancelled" if run.status == "interrupted" else "error"
            job.message = describe_failure(run)
            return
        job.outcome = "success"
        if self.download:
            self._download(client, job, run, printer)
        if job.outcome == "success":
            printer.say(f"done: prompt {run.prompt_id} succeeded")

    def _download(self, client: ComfyClient, job: Job, run: PromptRun, printer: ProgressPrinter) -> None:
        """Save the outputs; a failed download fails the job (a non-zero exit)."""
        try:
            for path in download_images(client, run, self.download, self.overwrite):
                printer.say(f"downloaded {path}")
        except (OSError, ClientError) as error:
            job.outcome = "error"
            job.message = f"prompt {run.prompt_id} succeeded but its download failed: {clean(error)}"

    def cancel(self) -> None:
        """Interrupt every running job's prompt and delete it (and every queued one) from the queue."""
        with self.lock:
            self.pending.clear()
            running = list(self.running)
        for job in running:
            if job.client is None or job.prompt_id is None:
                continue
            try:
                job.client.interrupt(job.prompt_id)
                job.client.delete_from_queue([job.prompt_id])
                print(f"cancelled prompt {job.prompt_id} on {job.client.url}", file=self.out, flush=True)
            except ClientError as error:
                print(f"could not cancel prompt {job.prompt_id}: {error}", file=self.out, flush=True)
            job.outcome = "cancelled"

"""Live progress on a terminal (one redrawn line) and in a pipe (lines), whole lines from several jobs."""

from __future__ import annotations

import io
import re
import threading
import time

from workflows.api_client.terminal import ProgressPrinter, WholeLines

WORKFLOW = {"3": {"class_type": "TrainIdentityLoRA", "inputs": {"steps": 0}}}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def progress_messages(steps: int) -> list[dict]:
    messages = [{"type": "executing", "data": {"node": "3", "prompt_id": "p"}}]
    for step in range(1, steps + 1):
        messages.append({"type": "progress", "data": {"node": "3", "value": step, "max": steps}})
        event = {"step": step * 10, "total_steps": steps * 10, "loss": 0.5, "eta_s": 65}
        messages.append({"type": "identity_lora.progress", "data": event})
    return messages


def test_terminal_progress_redraws_one_line_with_the_training_status():
    out = Terminal()
    printer = ProgressPrinter(WORKFLOW, out, in_place=True)
    for message in progress_messages(4):
        printer(message)
    printer.finish()
    lines = out.getvalue().split("\n")
    assert lines[0] == "running #3 TrainIdentityLoRA"
    assert lines[1].count("\r") == 8  # every progress and training message redraws the same line
    assert lines[1].endswith("training step 40/40 loss 0.5000 ETA 1m05s")
    assert "[########################] 4/4 100% #3 TrainIdentityLoRA" in lines[1]
    assert lines[2:] == [""]


def test_piped_progress_prints_lines():
    out = io.StringIO()
    printer = ProgressPrinter(WORKFLOW, out)
    for message in progress_messages(40):
        printer(message)
    lines = out.getvalue().splitlines()
    bars = [line for line in lines if line.startswith("[")]
    assert 1 < len(bars) <= 21 and bars[-1].startswith("[########################] 40/40 100%")
    assert "\r" not in out.getvalue()
    assert lines.count("training step 400/400 loss 0.5000 ETA 1m05s") == 1


class SlowStream(io.StringIO):
    """A stream slow enough to write that two unsynchronised printers interleave on it."""

    def write(self, text: str) -> int:
        time.sleep(0.0005)
        return super().write(text)


def test_lines_from_several_jobs_never_run_together():
    out = SlowStream()
    shared = WholeLines(out)

    def job(label: str) -> None:
        for number in range(40):
            line = f"[{label}] queued prompt {number} on http://server-{label}"
            print(line, file=shared, flush=number % 2 == 0)

    threads = [threading.Thread(target=job, args=(label,)) for label in ("1", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    assert all(re.fullmatch(r"\[(\d)\] queued prompt \d+ on http://server-\1", line) for line in lines[:-1])
    assert len(lines) == 81


def test_a_redraw_is_written_whole_on_flush():
    out = io.StringIO()
    shared = WholeLines(out)
    shared.write("\r\033[K[1] 3/10")
    assert out.getvalue() == ""
    shared.flush()
    assert out.getvalue() == "\r\033[K[1] 3/10"

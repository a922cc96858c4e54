"""The progress parser on real sd-scripts output (samples from shared/notes/sd_scripts.md §4/§6)
and on the stand-in engine's output."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.run.progress import (
    BarUpdate,
    CheckpointSaved,
    OutOfMemory,
    ProgressTracker,
    StreamParser,
    ValidationUpdate,
    parse_piece,
    parse_sec_per_step,
)

# The three renders recorded in the real CPU run (run1 and the nan run), as tqdm writes them:
# every render starts with \r and none ends with a newline.
REAL_RENDERS = (
    "\rsteps:  25%|██▌       | 1/4 [00:06<00:18,  6.20s/it, avr_loss=2.65]"
    "\rsteps:  50%|█████     | 2/4 [00:13<00:13,  6.93s/it, avr_loss=2.6]"
    "\rsteps: 100%|██████████| 4/4 [00:53<00:00, 13.47s/it, avr_loss=nan]"
)
# A rich log line (padded to the console width) glued onto a render, then the stdout save line.
GLUED = (
    "\rsteps:  50%|█████     | 2/4 [00:13<00:13,  6.93s/it, avr_loss=2.6]"
    "2026-02-16 10:11:12 INFO     saving state at step 2                     train_util.py:4760\n"
)
STAND_IN = stand_in.TRAINER


def bars(items):
    return [item for item in items if isinstance(item, BarUpdate)]


def test_real_renders_give_step_total_loss_and_rate():
    parsed = bars(StreamParser().feed(REAL_RENDERS))
    assert [(b.n, b.total) for b in parsed] == [(1, 4), (2, 4), (4, 4)]
    assert [b.loss for b in parsed[:2]] == [2.65, 2.6]
    assert math.isnan(parsed[2].loss)
    assert [b.sec_per_step for b in parsed] == [6.20, 6.93, 13.47]


def test_chunks_split_anywhere_give_the_same_renders():
    whole = bars(StreamParser().feed(REAL_RENDERS))
    parser = StreamParser()
    one_char_at_a_time = [item for char in REAL_RENDERS for item in bars(parser.feed(char))]
    assert [(b.n, b.loss is None or math.isnan(b.loss)) for b in one_char_at_a_time] == [
        (b.n, b.loss is None or math.isnan(b.loss)) for b in whole
    ]
    assert len(one_char_at_a_time) == 3


def test_unterminated_render_is_reported_at_once_and_only_once():
    parser = StreamParser()
    first = parser.feed("\rsteps:  25%|██▌       | 1/4 [00:06<00:18,  6.20s/it, avr_loss=2.65]")
    assert [b.n for b in bars(first)] == [1]
    again = parser.feed("\rsteps:  50%|█████     | 2/4 [00:13<00:13,  6.93s/it, avr_loss=2.6]")
    assert [b.n for b in bars(again)] == [2]
    assert parser.close() == []


def test_glued_rich_line_keeps_the_render_and_finds_nothing_else():
    items = StreamParser().feed(GLUED)
    assert items == [BarUpdate(n=2, total=4, loss=2.6, sec_per_step=6.93)]


def test_first_render_after_update_shows_the_previous_loss_and_the_next_one_wins():
    text = (
        "\rsteps:  50%|#####     | 2/4 [00:00<00:00,  8.31it/s, avr_loss=2.65]"
        "\rsteps:  50%|#####     | 2/4 [00:00<00:00,  8.30it/s, avr_loss=2.64]"
    )
    parsed = bars(StreamParser().feed(text))
    assert [(b.n, b.loss) for b in parsed] == [(2, 2.65), (2, 2.64)]
    tracker = ProgressTracker("train", total=4)
    events = tracker.events(parsed)
    assert events[-1].loss == 2.64 and tracker.last_loss == 2.64


def test_saving_checkpoint_with_spaces_in_the_path():
    items = StreamParser().feed("\nsaving checkpoint: /runs/my run/output/ohwx-step00000002.safetensors\n")
    assert items == [CheckpointSaved(Path("/runs/my run/output/ohwx-step00000002.safetensors"))]


def test_validation_bar_is_not_a_training_step():
    piece = "validation steps:  50%|█████     | 2/4 [00:01<00:01,  1.20it/s, val_loss=0.41]"
    assert parse_piece(piece) == [ValidationUpdate(n=2, total=4)]


def test_running_training_block_is_not_a_bar():
    assert parse_piece("  total optimization steps / 学習ステップ数: 1500") == []


def test_rates_and_losses_in_every_format_tqdm_prints():
    assert parse_sec_per_step(" 6.20s/it") == 6.2
    assert abs(parse_sec_per_step(" 8.00it/s") - 0.125) < 1e-12
    assert parse_sec_per_step(" ?it/s") is None
    start = bars(parse_piece("steps:   0%|          | 0/4 [00:00<?, ?it/s]"))
    assert start == [BarUpdate(n=0, total=4, loss=None, sec_per_step=None)]
    inf = bars(parse_piece("steps:  75%|███▌ | 3/4 [00:20<00:06,  6.5s/it, avr_loss=inf]"))
    assert inf[0].loss == math.inf
    tiny = bars(parse_piece("steps:  75%|███▌ | 3/4 [00:20<00:06,  6.5s/it, avr_loss=1.5e-05]"))
    assert tiny[0].loss == 1.5e-05
    scaled = (
        "steps:  75%|███▌ | 3/4 [00:20<00:06,  6.5s/it, Keys Scaled=0, Average key norm=0.1, avr_loss=2.5]"
    )
    assert bars(parse_piece(scaled))[0].loss == 2.5


def test_out_of_memory_lines_are_recognised():
    for line in (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.",
        "RuntimeError: CUDA error: out of memory",
    ):
        assert any(isinstance(item, OutOfMemory) for item in StreamParser().feed(line + "\n"))
    assert not any(isinstance(i, OutOfMemory) for i in StreamParser().feed("memory use 3 GB\n"))


def test_resumed_run_numbers_steps_globally():
    # Real resume run (notes §6 "resume2"): state at step 2 of 4, the bar shows 1/2 and 2/2.
    parser = StreamParser()
    renders = (
        "\rsteps:  50%|█████     | 1/2 [00:05<00:05,  5.30s/it, avr_loss=2.61]"
        "\rsteps: 100%|██████████| 2/2 [00:10<00:00,  5.30s/it, avr_loss=2.58]\n"
    )
    tracker = ProgressTracker("train", total=4, initial_step=2)
    events = tracker.events(parser.feed(renders))
    assert [(e.step, e.total) for e in events] == [(3, 4), (4, 4)]
    assert events[0].eta_seconds == pytest.approx(5.3) and events[1].eta_seconds == pytest.approx(0)


def test_second_phase_continues_the_count_and_nan_is_flagged():
    tracker = ProgressTracker("te_phase2", total=10, steps_before=5)
    events = tracker.events(StreamParser().feed(REAL_RENDERS))
    assert [e.step for e in events] == [6, 7, 9]
    assert all(e.phase == "te_phase2" and e.kind == "step" for e in events)
    assert tracker.first_bad_loss_step == 9


def test_saving_line_and_oom_events():
    """The engine's "saving checkpoint" line is a log event: the file is only being written (the
    runner reports the checkpoint once it is whole, see run/watch.py)."""
    tracker = ProgressTracker("train", total=4)
    events = tracker.events(
        StreamParser().feed(
            "\rsteps:  50%|█████     | 2/4 [00:13<00:13,  6.93s/it, avr_loss=2.6]"
            "\nsaving checkpoint: /r/out/x-step00000002.safetensors\n"
            "torch.OutOfMemoryError: CUDA out of memory.\n"
        )
    )
    kinds = [(e.kind, e.step) for e in events]
    assert kinds == [("step", 2), ("log", 2), ("log", 2)]
    assert events[1].path == Path("/r/out/x-step00000002.safetensors")
    assert events[1].message == "saving x-step00000002.safetensors"
    assert tracker.out_of_memory_line.startswith("torch.OutOfMemoryError")


def test_stand_in_output_parses_into_every_step(tmp_path):
    argv = ["--output_dir", str(tmp_path), "--output_name", "x", "--max_train_steps", "5"]
    argv += ["--save_every_n_steps", "2", "--save_state", "--network_dim", "2"]
    done = subprocess.run(
        [sys.executable, str(STAND_IN), *argv],
        capture_output=True,
        env={"STAND_IN_SEC_PER_STEP": "0.01", "STAND_IN_NAN_AT_STEP": "5", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    stderr, stdout = done.stderr.decode(), done.stdout.decode()
    assert "avr_loss=2.6" in stderr and "]2026-" in stderr  # a rich line glued onto a render
    tracker = ProgressTracker("train", total=5)
    tracker.events(StreamParser().feed(stderr))
    saved = tracker.events(StreamParser().feed(stdout))
    assert tracker.global_step == 5
    assert tracker.first_bad_loss_step == 5
    assert [e.path.name for e in saved if e.path is not None] == [
        "x-step00000002.safetensors",
        "x-step00000004.safetensors",
        "x.safetensors",
    ]


def test_renders_without_a_loss_move_the_counter_but_make_no_step_event():
    tracker = ProgressTracker("train", total=4)
    quiet = tracker.events(
        StreamParser().feed(
            "\rsteps:   0%|          | 0/4 [00:00<?, ?it/s]"
            "\rsteps:  25%|██▌       | 1/4 [00:06<00:18,  6.20s/it]"
        )
    )
    assert quiet == [] and tracker.global_step == 1
    loud = tracker.events(
        StreamParser().feed("\rsteps:  25%|██▌ | 1/4 [00:06<00:18,  6.20s/it, avr_loss=2.65]")
    )
    assert [(e.step, e.loss) for e in loud] == [(1, 2.65)]

"""Validation losses from the engine's ``validation steps`` bar renders (train_network.py postfix),
parsed into validation events and written to ``validation.csv`` by global step."""

from sd_scripts_bridge.model import ProgressEvent
from sd_scripts_bridge.run.progress import ProgressTracker, StreamParser
from sd_scripts_bridge.run.validation_log import ValidationLog, read_validation_csv


def val_render(n, total, loss):
    postfix = f"val_avg_loss={loss}, timestep=400"
    return f"\rvalidation steps:  {100 * n // total}%|##| {n}/{total} [00:01<00:00, 3.1it/s, {postfix}]"


def steps_render(n, total, loss):
    return f"\rsteps:  {100 * n // total}%|##| {n}/{total} [00:06<00:18,  6.20s/it, avr_loss={loss}]"


def record_all(log, tracker, text):
    for event in tracker.events(StreamParser().feed(text + "\n")):
        log.record(event)


def test_last_render_of_each_validation_run_wins(tmp_path):
    text = (
        steps_render(2, 4, 0.9)
        + val_render(1, 4, 0.5) + val_render(2, 4, 0.45) + val_render(4, 4, 0.41)
        + steps_render(3, 4, 0.8) + steps_render(4, 4, 0.7)
        + val_render(1, 4, 0.39) + val_render(4, 4, 0.37)
    )  # fmt: skip
    log = ValidationLog(tmp_path / "validation.csv")
    record_all(log, ProgressTracker("train", total=4), text)
    log.close()
    assert read_validation_csv(tmp_path / "validation.csv") == {2: 0.41, 4: 0.37}


def test_epoch_validation_bars_count_too_and_bars_without_a_loss_give_nothing(tmp_path):
    log = ValidationLog(tmp_path / "validation.csv")
    tracker = ProgressTracker("train", total=4)
    record_all(
        log, tracker, steps_render(1, 4, 1.0) + "\rvalidation steps:  50%|#| 2/4 [00:01<00:01, 2.0it/s]"
    )
    log.close()
    assert not (tmp_path / "validation.csv").exists()
    record_all(
        log, tracker, "\repoch validation steps: 100%|#| 4/4 [00:01<00:00, 2.0it/s, val_epoch_avg_loss=0.3]"
    )
    log.close()
    assert read_validation_csv(tmp_path / "validation.csv") == {1: 0.3}


def test_a_resumed_run_keeps_the_rows_up_to_its_step_and_a_fresh_one_starts_over(tmp_path):
    path = tmp_path / "validation.csv"
    first = ValidationLog(path)
    for step, loss in ((2, 0.5), (4, 0.4), (6, 0.3)):
        first.record(ProgressEvent("validation", "train", step, 8, loss=loss))
        first.record(ProgressEvent("step", "train", step + 1, 8, loss=1.0))
    first.close()
    assert read_validation_csv(path) == {2: 0.5, 4: 0.4, 6: 0.3}
    resumed = ValidationLog(path, keep_through=4)  # resumed at step 4: step 6 is trained again
    resumed.record(ProgressEvent("validation", "train", 6, 8, loss=0.25))
    resumed.record(ProgressEvent("validation", "train", 8, 8, loss=float("nan")))
    resumed.close()
    assert read_validation_csv(path) == {2: 0.5, 4: 0.4, 6: 0.25}
    ValidationLog(path).close()
    assert not path.exists()

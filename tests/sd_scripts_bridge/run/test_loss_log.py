"""loss.csv: one row per global step (the step's last render wins), trimmed when a run resumes."""

from sd_scripts_bridge.model import ProgressEvent
from sd_scripts_bridge.run.loss_log import LossLog, read_loss_csv


def step(n, loss, phase="train"):
    return ProgressEvent(kind="step", phase=phase, step=n, total=4, loss=loss, sec_per_step=6.2)


def test_last_render_of_a_step_wins_and_rows_appear_as_steps_finish(tmp_path):
    path = tmp_path / "loss.csv"
    log = LossLog(path)
    log.record(step(1, 2.65))
    log.record(step(2, 2.65))  # first render of step 2 still shows step 1's loss
    assert [r["step"] for r in read_loss_csv(path)] == ["1"]  # step 1 is written as step 2 starts
    log.record(step(2, 2.6))
    log.record(ProgressEvent(kind="checkpoint", phase="train", step=2))
    log.close()
    rows = read_loss_csv(path)
    assert [(r["step"], r["loss"], r["sec_per_step"], r["phase"]) for r in rows] == [
        ("1", "2.65", "6.2", "train"),
        ("2", "2.6", "6.2", "train"),
    ]


def test_resume_keeps_rows_up_to_the_saved_step_only(tmp_path):
    path = tmp_path / "loss.csv"
    with LossLog(path) as log:
        for n in (1, 2, 3):
            log.record(step(n, 2.0 + n))
    with LossLog(path, keep_through=2) as log:
        log.record(step(3, 9.0))
    assert [(r["step"], r["loss"]) for r in read_loss_csv(path)] == [("1", "3.0"), ("2", "4.0"), ("3", "9.0")]
    with LossLog(path) as log:  # a fresh run starts a fresh file
        pass
    assert read_loss_csv(path) == []

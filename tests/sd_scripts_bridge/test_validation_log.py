"""Validation losses read from the engine's ``validation steps`` bar renders (train_network.py postfix)."""

from sd_scripts_bridge.validation_log import (
    pair_with_steps,
    read_validation_csv,
    validation_losses,
    write_validation_csv,
)


def val_render(n, total, loss):
    postfix = f"val_avg_loss={loss}, timestep=400"
    return f"\rvalidation steps:  {100 * n // total}%|##| {n}/{total} [00:01<00:00, 3.1it/s, {postfix}]"


def steps_render(n, total, loss):
    return f"\rsteps:  {100 * n // total}%|##| {n}/{total} [00:06<00:18,  6.20s/it, avr_loss={loss}]"


def test_last_render_of_each_validation_run_wins():
    text = (
        steps_render(2, 4, 0.9)
        + val_render(1, 4, 0.5) + val_render(2, 4, 0.45) + val_render(4, 4, 0.41) + "\n"
        + steps_render(3, 4, 0.8) + steps_render(4, 4, 0.7)
        + val_render(1, 4, 0.39) + val_render(4, 4, 0.37)
    )  # fmt: skip
    assert validation_losses(text) == [0.41, 0.37]


def test_runs_without_a_training_render_between_them_are_split_by_the_counter():
    text = val_render(3, 4, 0.6) + val_render(4, 4, 0.55) + val_render(1, 4, 0.3) + val_render(4, 4, 0.2)
    assert validation_losses(text) == [0.55, 0.2]


def test_bars_without_a_loss_give_nothing():
    assert (
        validation_losses("\rvalidation steps:  50%|#| 2/4 [00:01<00:01, 2.0it/s]" + steps_render(1, 4, 1.0))
        == []
    )


def test_pairing_and_csv_merge_keep_rows_up_to_the_resumed_step(tmp_path):
    assert pair_with_steps([2, 4], [0.4, float("nan")]) == [(2, 0.4)]
    path = tmp_path / "validation.csv"
    write_validation_csv(path, [(2, 0.5), (4, 0.4), (6, 0.3)], keep_through=None)
    write_validation_csv(path, [(6, 0.25)], keep_through=4)  # resumed at step 4: step 6 is new
    assert read_validation_csv(path) == {2: 0.5, 4: 0.4, 6: 0.25}

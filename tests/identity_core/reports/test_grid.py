import numpy as np
import pytest

from identity_core.evaluation.model import Sweep, SweepEntry
from identity_core.reports.grid import CellMark, sweep_grid


def _sweep(loras=("a.safetensors",), prompts=("portrait", "control"), strengths=(0.5, 1.0), seeds=(1, 2, 3)):
    entries = []
    for lora in loras:
        for prompt in prompts:
            for strength in strengths:
                for seed in seeds:
                    colour = np.array(
                        [int(strength * 200), seed * 60, 30 if prompt == "control" else 220], np.uint8
                    )
                    entries.append(
                        SweepEntry(
                            np.tile(colour, (64, 64, 1)),
                            prompt,
                            prompt,
                            strength,
                            seed,
                            lora,
                            prompt == "control",
                        )
                    )
    return Sweep(entries=entries)


def _find(grid, colour):
    """Top-left pixel of the first run of 64x64 pixels of one colour."""
    ys, xs = np.nonzero(np.all(grid == np.array(colour, np.uint8), axis=2))
    return int(ys.min()), int(xs.min())


def test_rows_are_prompts_columns_strengths_and_seeds_side_by_side():
    grid = sweep_grid(_sweep())
    assert grid.dtype == np.uint8 and grid.ndim == 3 and grid.shape[2] == 3
    y_seed1, x_seed1 = _find(grid, (100, 60, 220))  # portrait, 0.5, seed 1
    y_seed2, x_seed2 = _find(grid, (100, 120, 220))  # portrait, 0.5, seed 2
    y_strong, x_strong = _find(grid, (200, 60, 220))  # portrait, 1.0, seed 1
    y_control, x_control = _find(grid, (100, 60, 30))  # control, 0.5, seed 1
    assert y_seed1 == y_seed2 == y_strong and x_seed1 < x_seed2 < x_strong  # seeds grouped inside a strength
    assert y_control > y_seed1 and x_control == x_seed1  # next prompt below, same column


def test_annotations_draw_captions_and_coloured_frames():
    sweep = _sweep()
    plain = sweep_grid(sweep)
    marked = sweep_grid(
        sweep,
        image_captions={0: "0.71", 3: "no face"},
        cell_marks={("a.safetensors", "portrait", 0.5): CellMark("ok", (40, 150, 60))},
        title="scores",
    )
    assert marked.shape[0] > plain.shape[0]  # caption line and title
    assert np.any(np.all(marked == np.array([40, 150, 60], np.uint8), axis=2))


def test_several_checkpoints_get_a_block_each_and_big_images_are_shrunk():
    two = sweep_grid(_sweep(loras=("a.safetensors", "b.safetensors")))
    one = sweep_grid(_sweep())
    assert two.shape[0] > 2 * one.shape[0] - 60
    big = Sweep(entries=[SweepEntry(np.zeros((1024, 768, 3), np.uint8), "p", "p", 1.0, 0, "x")])
    assert sweep_grid(big).shape[0] < 400


def test_empty_sweep_is_refused():
    with pytest.raises(ValueError, match="no images"):
        sweep_grid(Sweep(entries=[]))

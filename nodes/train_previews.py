"""TrainIdentityLoRA's previews output: the engine's samples of one prompt as an IMAGE batch."""

from __future__ import annotations

import re

from .comfy_glue.images import arrays_to_images


def preview_index(prompts) -> int:
    """The prompt the previews output shows: the user's preview prompt, else the first portrait."""
    from ..identity_core.evaluation.live_likeness import ROLE_PREVIEW

    return next((p.index for p in prompts if p.role == ROLE_PREVIEW), 0)


_SAMPLE_TAIL = re.compile(r"_\d{6}_(?P<index>\d{2})_\d{14}(?:_\d+)?\.png$")  # the engine's sample names


def samples_of_prompt(paths, index: int) -> list:
    """One sample per sampling step: the images of prompt ``index`` (all when none is named so)."""
    chosen = [p for p in paths if (m := _SAMPLE_TAIL.search(p.name)) and int(m.group("index")) == index]
    return chosen or list(paths)


def preview_batch(paths):
    import numpy as np
    from PIL import Image

    arrays = []
    for path in paths:
        try:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB")))
        except OSError:
            continue
    if arrays:
        size = arrays[-1].shape
        arrays = [a for a in arrays if a.shape == size]
    return arrays_to_images(arrays or [np.zeros((64, 64, 3), np.uint8)])

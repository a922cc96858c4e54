"""A labelled contact grid of a strength sweep: rows are prompts, columns strengths.

Within a cell the seeds sit side by side, so the eye compares seeds of one setting first
and strengths second. Several LoRA checkpoints give one block of rows each. Optional
annotations put a score under each image and colour each cell's frame by its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import IdentityError
from ..evaluation.model import Sweep

MAX_TILE = 256
PAD = 6
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
OK_COLOUR = (40, 150, 60)
BAD_COLOUR = (200, 40, 40)
WARN_COLOUR = (230, 140, 0)
NEUTRAL_COLOUR = (150, 150, 150)


@dataclass(frozen=True)
class CellMark:
    """A verdict drawn as the frame colour of a cell, with a short caption above it."""

    caption: str
    colour: tuple[int, int, int]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _tile(image: np.ndarray, size: tuple[int, int]) -> Image.Image:
    tile = Image.fromarray(np.ascontiguousarray(image))
    return tile if tile.size == size else tile.resize(size, Image.BILINEAR)


def sweep_grid(
    sweep: Sweep,
    image_captions: Mapping[int, str] | None = None,
    cell_marks: Mapping[tuple[str, str, float], CellMark] | None = None,
    title: str = "",
) -> np.ndarray:
    """Render the grid as an RGB ``uint8`` array.

    ``image_captions`` maps an entry index to a caption under that image (e.g. its
    similarity); ``cell_marks`` maps ``(lora_name, prompt_id, strength)`` to a verdict.
    """
    if not sweep.entries:
        raise IdentityError(
            "The sweep has no images to put in a grid", "connect a sweep that has images", "sweep"
        )
    captions = image_captions or {}
    marks = cell_marks or {}
    first = sweep.entries[0].image
    scale = min(1.0, MAX_TILE / max(first.shape[:2]))
    tile_w, tile_h = max(1, round(first.shape[1] * scale)), max(1, round(first.shape[0] * scale))
    font = _font(max(10, min(16, tile_h // 5)))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = _text_size(probe, "Ag0.9", font)[1] + 4
    loras, prompts, strengths, seeds = (
        sweep.lora_names(),
        sweep.prompt_ids(),
        sweep.strengths(),
        sweep.seeds(),
    )
    label_w = max(_text_size(probe, f"{p} (control)", font)[0] for p in prompts) + 2 * PAD
    cell_w = len(seeds) * tile_w + (len(seeds) - 1) * 2 + 2 * PAD
    cell_h = line_h + tile_h + (line_h if captions else 0) + 2 * PAD
    block_title_h = line_h if len(loras) > 1 else 0
    title_h = line_h + PAD if title else 0
    header_h = line_h + PAD
    width = label_w + len(strengths) * cell_w
    height = title_h + header_h + len(loras) * (block_title_h + len(prompts) * cell_h)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((PAD, PAD // 2), title, fill=TEXT, font=font)
    probed = {e.strength for e in sweep.entries if e.beyond_design}
    for column, strength in enumerate(strengths):
        label = f"strength {strength:g}" + (" (probe)" if strength in probed else "")
        draw.text((label_w + column * cell_w + PAD, title_h), label, fill=TEXT, font=font)
    index_of = {id(entry): i for i, entry in enumerate(sweep.entries)}
    y = title_h + header_h
    for lora in loras:
        if block_title_h:
            draw.text((PAD, y), lora, fill=TEXT, font=font)
            y += block_title_h
        for prompt in prompts:
            role = next((e.role for e in sweep.entries if e.prompt_id == prompt), "")
            draw.text(
                (PAD, y + cell_h // 2 - line_h // 2),
                prompt + (f" ({role})" if role in ("control", "style") else ""),
                fill=TEXT,
                font=font,
            )
            for column, strength in enumerate(strengths):
                x0 = label_w + column * cell_w
                mark = marks.get((lora, prompt, strength))
                if mark is not None:
                    draw.rectangle(
                        [x0 + 1, y + 1, x0 + cell_w - 2, y + cell_h - 2], outline=mark.colour, width=3
                    )
                    draw.text((x0 + PAD, y + PAD), mark.caption, fill=mark.colour, font=font)
                for entry in sweep.cell(lora, prompt, strength):
                    slot = seeds.index(entry.seed)
                    tx = x0 + PAD + slot * (tile_w + 2)
                    ty = y + PAD + line_h
                    canvas.paste(_tile(entry.image, (tile_w, tile_h)), (tx, ty))
                    caption = captions.get(index_of[id(entry)])
                    if caption:
                        draw.text((tx, ty + tile_h + 2), caption, fill=TEXT, font=font)
            y += cell_h
    return np.asarray(canvas, dtype=np.uint8)

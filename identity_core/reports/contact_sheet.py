"""Contact sheet: one tile per image with its findings written on it (PIL only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_COLOURS = {"pass": (46, 160, 67), "warn": (230, 160, 0), "fail": (210, 40, 40)}


@dataclass(frozen=True)
class Tile:
    """What one tile shows: a thumbnail source (RGB uint8 or None), a title and marks."""

    image: np.ndarray | None
    title: str
    severity: str  # "pass" / "warn" / "fail"
    marks: tuple[str, ...] = ()
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # face boxes in the image's pixels


def contact_sheet(tiles: Sequence[Tile], tile_size: int = 256, columns: int = 6) -> np.ndarray:
    """An RGB uint8 sheet. Border colour = severity; marks are printed under the thumbnail."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    columns = max(1, min(columns, len(tiles) or 1))
    rows = max(1, -(-len(tiles) // columns))
    caption_height = 14 * 4
    cell_w, cell_h = tile_size, tile_size + caption_height
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    if not tiles:
        draw.text((8, 8), "no images", fill=(230, 230, 230), font=font)
    for index, tile in enumerate(tiles):
        left, top = (index % columns) * cell_w, (index // columns) * cell_h
        colour = _COLOURS.get(tile.severity, (128, 128, 128))
        _paste_thumbnail(sheet, draw, tile, left, top, tile_size, colour)
        draw.rectangle([left, top, left + cell_w - 1, top + cell_h - 1], outline=colour, width=4)
        lines = [tile.title, *tile.marks][:4]
        for line_index, line in enumerate(lines):
            text = line if len(line) <= 40 else line[:39] + "…"
            fill = (240, 240, 240) if line_index == 0 else colour
            draw.text((left + 6, top + tile_size + 2 + 13 * line_index), text, fill=fill, font=font)
    return np.asarray(sheet)


def _paste_thumbnail(sheet, draw, tile: Tile, left: int, top: int, size: int, colour) -> None:
    from PIL import Image

    if tile.image is None:
        draw.line([left, top, left + size, top + size], fill=colour, width=3)
        draw.line([left + size, top, left, top + size], fill=colour, width=3)
        return
    thumb = Image.fromarray(np.asarray(tile.image, np.uint8))
    scale = min((size - 8) / thumb.width, (size - 8) / thumb.height)
    thumb = thumb.resize((max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale))))
    x, y = left + (size - thumb.width) // 2, top + (size - thumb.height) // 2
    sheet.paste(thumb, (x, y))
    for x1, y1, x2, y2 in tile.boxes:
        draw.rectangle(
            [x + x1 * scale, y + y1 * scale, x + x2 * scale, y + y2 * scale], outline=colour, width=2
        )

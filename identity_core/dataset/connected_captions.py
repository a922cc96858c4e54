"""Captions from a captioning node in the graph, one per subject image, in dataset order.

In ComfyUI's classic node API a list of captions arrives in one of two shapes: an output list
(one string per image, e.g. a batch captioner marked as a list output) or one multiline text
with a caption per line. Both are accepted; any other count is refused, because a caption on
the wrong photo is worse than none. The dataset order is DatasetCheck's (the file names,
sorted), which CaptionTokenizer's report lists.
"""

from __future__ import annotations

from ..errors import IdentityError
from .model import CAPTION_GRAPH, Dataset, DatasetItem


def split_connected(values: list[str], image_count: int) -> list[str]:
    """One caption per image: the list as it is, or one text split into its non-empty lines."""
    if len(values) == image_count:
        return [str(value) for value in values]
    if len(values) == 1:
        lines = [line.strip() for line in str(values[0]).splitlines() if line.strip()]
        if len(lines) == image_count:
            return lines
        got = f"one text with {len(lines)} caption lines"
    else:
        got = f"{len(values)} captions"
    raise IdentityError(
        f"The connected captions do not match the dataset: {got} for {image_count} subject images",
        "connect exactly one caption per subject image, in the dataset's order (the file names sorted, as "
        "this node's report lists them): a list output of a captioning node, or one text with a caption "
        "per line",
        "captions",
    )


def with_connected_captions(dataset: Dataset, values: list[str]) -> Dataset:
    captions = split_connected(values, len(dataset.items))
    items = tuple(
        DatasetItem(item.image_path, caption.strip() or None, CAPTION_GRAPH, item.caption_path)
        for item, caption in zip(dataset.items, captions, strict=True)
    )
    return dataset.replace(items=items)

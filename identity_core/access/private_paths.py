"""Server paths out of what every client reads: messages name places, not absolute paths.

ComfyUI stores each node's error message and its text outputs in /history, which any client can
read, and a path tells a client how the server is laid out (user names, mount points, the owner's
photo roots). So before a message leaves a node, every known place is replaced with its label:
``input/anna/01.jpg``, ``models/loras/identity/anna.safetensors``, ``<work folder>/train/...``,
``<allowed root>/anna``. The server's own log keeps the full text.

Pure Python: the nodes pass in the places ComfyUI has (``nodes/comfy_glue/hidden_paths.private_path_labels``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_LOG = logging.getLogger("identity_lora")


class PathLabels:
    """Places and their labels, matched longest first, each in its given and its resolved form."""

    def __init__(self, places: Iterable[tuple[Path | str, str]]) -> None:
        labels: dict[str, str] = {}
        for place, label in places:
            for form in _forms(place):
                labels.setdefault(form, label)
        self.labels = labels
        ordered = sorted(labels, key=len, reverse=True)
        # A place matches only as a whole path: not inside a longer name before or after it (a dot
        # that ends a sentence may follow it, one that starts a file extension may not).
        self._pattern = (
            re.compile(r"(?<![\w.\-/])(" + "|".join(map(re.escape, ordered)) + r")(?![\w\-]|\.\w)")
            if ordered
            else None
        )

    def hide(self, text: str) -> str:
        if self._pattern is None or not isinstance(text, str):
            return text
        return self._pattern.sub(lambda match: self.labels[match.group(1)], text)


def _forms(place: Path | str) -> list[str]:
    """The path as given and resolved, without a trailing separator; never the file system root."""
    text = str(place).rstrip("/\\")
    forms = [text]
    with contextlib.suppress(OSError, ValueError):
        forms.append(os.path.realpath(text))
    return [form for form in dict.fromkeys(forms) if len(form) > 1 and os.path.isabs(form)]


@contextmanager
def private_paths_hidden(labels: PathLabels) -> Iterator[None]:
    """Errors raised inside carry their message with the places hidden (type and traceback kept)."""
    try:
        yield
    except Exception as error:
        hide_in_error(error, labels)
        raise


def hide_in_error(error: BaseException, labels: PathLabels) -> None:
    """Rewrite ``error``'s message in place; log the full message first (the server's log only).

    An ``OSError`` prints its ``strerror`` and file names, not its ``args``: those are rewritten.
    """
    text = str(error)
    hidden = labels.hide(text)
    if hidden == text:
        return
    _LOG.error("identity_lora: %s: %s", type(error).__name__, text)
    if isinstance(error, OSError) and error.errno is not None:
        for attribute in ("strerror", "filename", "filename2"):
            value = getattr(error, attribute, None)
            if isinstance(value, str | Path):
                setattr(error, attribute, labels.hide(str(value)))
        return
    error.args = (hidden, *error.args[1:]) if error.args else (hidden,)

"""Server text made safe to print: a server's messages, file names and results may hold terminal
escapes and control characters that, printed raw, could rewrite the user's terminal."""

from __future__ import annotations

import re
from typing import Any

# Terminal control sequences and control characters (the newline and the tab stay).
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean(text: Any) -> str:
    """Server text made safe to print: terminal escapes and control characters removed."""
    return _CONTROL.sub("", str(text))

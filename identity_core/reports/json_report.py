"""Write a JSON report atomically (a half-written report is never left behind)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any


def write_json_report(payload: dict[str, Any], folder: str | Path, stem: str) -> Path:
    """Write ``payload`` to ``<folder>/<stem>_<timestamp>.json`` and return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = folder / f"{stem}_{stamp}.json"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{stem}_", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(payload, stream, indent=2, ensure_ascii=False, default=str)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path

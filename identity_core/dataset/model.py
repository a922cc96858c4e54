"""The IDENTITY_DATASET value passed from DatasetCheck to CaptionTokenizer and TrainIdentityLoRA.

Plain frozen data: captions are text in memory (the engine bridge stages images and
captions into the run folder), so the user's dataset folder is never written to.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASS = "pass"
WARN = "warn"
FAIL = "fail"
UNCHECKED = "unchecked"
_SEVERITY_ORDER = {PASS: 0, WARN: 1, FAIL: 2}

# Where an item's caption text came from.
CAPTION_FILE = "file"  # the user's same-name .txt file, as read
CAPTION_EDITED = "edited"  # the user's caption with the trigger token enforced
CAPTION_TEMPLATE = "template"  # written by CaptionTokenizer: "<token>, a <class> ..."
CAPTION_GRAPH = "graph"  # from a captioning node connected to CaptionTokenizer (token enforced)
CAPTION_NONE = "none"  # no caption (the engine then uses its class tokens)


@dataclass(frozen=True)
class DatasetItem:
    """One image and the caption text it will be trained with."""

    image_path: Path
    caption: str | None = None
    caption_source: str = CAPTION_NONE
    caption_path: Path | None = None  # the same-name .txt file, when the user has one


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One check result: what was measured, against which threshold, and what to do (keywords only:
    seven fields read best by name)."""

    check: str
    severity: str  # PASS / WARN / FAIL
    measured: Any
    threshold: str
    message: str
    fix: str = ""
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TokenUniqueness:
    """How the trigger token tokenizes in FLUX's two text encoders.

    ``is_unique`` False means the token is an existing word or name with meaning (the
    "semantic ambiguity" case of docs/profiles.md, "Text encoder policy"), which
    TrainIdentityLoRA's text-encoder policy uses.
    """

    token: str
    clip_pieces: tuple[str, ...]
    t5_pieces: tuple[str, ...]
    is_unique: bool
    reason: str
    alternatives: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, repr=False)
class Dataset:
    """A checked dataset folder, optionally with its regularization set."""

    folder: Path
    items: tuple[DatasetItem, ...]
    regularization: Dataset | None = None
    trigger_token: str | None = None
    class_word: str = "person"
    token_uniqueness: TokenUniqueness | None = None
    verdict: str = UNCHECKED  # PASS / WARN / FAIL / UNCHECKED
    findings: tuple[Finding, ...] = ()
    report_path: Path | None = None  # the JSON report DatasetCheck wrote
    face_backend: str | None = None  # the name of the backend that measured the faces
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        """Names and counts only: ComfyUI stores a failing node's inputs as their ``str`` in /history,
        which every client reads, and the fields hold photo paths and captions."""
        parts = [f"folder {Path(self.folder).name!r}", f"{len(self.items)} images"]
        if self.regularization is not None:
            parts.append(f"regularization {len(self.regularization.items)} images")
        if self.trigger_token:
            parts.append(f"token {self.trigger_token[:64]!r}")
        parts.append(f"verdict {self.verdict}")
        return f"Dataset({', '.join(parts)})"

    @property
    def image_paths(self) -> tuple[Path, ...]:
        return tuple(item.image_path for item in self.items)

    @property
    def captions(self) -> tuple[str | None, ...]:
        return tuple(item.caption for item in self.items)

    def replace(self, **changes: Any) -> Dataset:
        return dataclasses.replace(self, **changes)

    def content_hash(self) -> str:
        """SHA-256 over every image's bytes and caption text (and the regularization set's).

        File names take part only through their order; renaming a folder does not change it.
        """
        digest = hashlib.sha256()
        for item in sorted(self.items, key=lambda i: i.image_path.name):
            digest.update(hashlib.sha256(item.image_path.read_bytes()).digest())
            digest.update(b"\x00caption\x00")
            digest.update((item.caption or "").encode("utf-8"))
            digest.update(b"\x00item\x00")
        if self.regularization is not None:
            digest.update(b"\x00regularization\x00")
            digest.update(self.regularization.content_hash().encode("ascii"))
        return digest.hexdigest()


def worst_severity(severities: list[str] | tuple[str, ...]) -> str:
    """FAIL beats WARN beats PASS; an empty list passes."""
    return max(severities, key=_SEVERITY_ORDER.__getitem__, default=PASS)

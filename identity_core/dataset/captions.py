"""Caption rules (docs/profiles.md, "Dataset rules") applied to a Dataset, in memory.

- the trigger token in every subject caption, and in no regularization caption
  (those read "a <class>");
- template captions in the form ``<token>, a man, ...`` of the dataset rules, with what
  DatasetCheck measured in each photo (framing, view, light, background; ``image_notes.py``);
- captions from a captioning node in the graph, one per subject image in dataset order, used
  instead of the caption files (``connected_captions.py``);
- the style rules and the identity-trait lint (``caption_lint.py``);
- characters that break sd-scripts' caption reading (it wants UTF-8 and reads only the
  first line) are reported with the file name and cleaned in the staged text.

Nothing is written unless :func:`write_caption_files` is called, and it backs up first. The
findings that are not a pass travel on the dataset (``extra["caption_findings"]``), so
ArcFaceScore can name them when a diagnosis traces back to the captions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IdentityError
from .caption_lint import style_findings
from .connected_captions import with_connected_captions
from .model import (
    CAPTION_EDITED,
    CAPTION_FILE,
    CAPTION_GRAPH,
    CAPTION_TEMPLATE,
    FAIL,
    PASS,
    WARN,
    Dataset,
    DatasetItem,
    Finding,
    worst_severity,
)
from .scan import read_caption
from .tokens import Tokenizers, token_uniqueness

MODE_ENFORCE = "keep captions, enforce token"
MODE_TEMPLATE = "template captions for all"
MODES = (MODE_ENFORCE, MODE_TEMPLATE)

_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


@dataclass
class CaptionResult:
    dataset: Dataset
    findings: list[Finding]
    backup_folder: Path | None = None  # where the changed caption files were backed up
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # caption files not written, and why

    @property
    def verdict(self) -> str:
        return worst_severity([f.severity for f in self.findings])

    def text_report(self) -> str:
        labels = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL"}
        lines = [f"Captions: {labels[self.verdict]} - trigger '{self.dataset.trigger_token}'"]
        uniqueness = self.dataset.token_uniqueness
        if uniqueness is not None:
            lines.append(f"Token: {uniqueness.reason}")
            if uniqueness.alternatives:
                lines.append("       alternatives: " + ", ".join(uniqueness.alternatives))
        for severity in (FAIL, WARN, PASS):
            for finding in (f for f in self.findings if f.severity == severity):
                lines.append(f"[{labels[severity]}] {finding.check}: {finding.message}")
                if finding.fix and severity != PASS:
                    lines.append(f"       fix: {finding.fix}")
        from_graph = sum(1 for item in self.dataset.items if item.caption_source == CAPTION_GRAPH)
        if from_graph:
            lines.append(f"Captions from the connected captioning node: {from_graph} (token enforced)")
        if self.backup_folder:
            lines.append(
                f"Caption files rewritten: {len(self.written)}; their previous versions are backed up in "
                f"the pack's work folder (caption_backups/{self.backup_folder.parent.name}/"
                f"{self.backup_folder.name})."
            )
        else:
            lines.append("Caption files untouched; captions are staged with the training run.")
        lines += [f"Not written: {path.name}: {why}." for path, why in self.skipped]
        lines.append("")
        lines.extend(f"  {item.image_path.name}: {item.caption}" for item in self.dataset.items)
        return "\n".join(lines)


def apply_caption_rules(
    dataset: Dataset,
    trigger_token: str,
    class_word: str,
    mode: str,
    tokenizers: Tokenizers,
    connected: list[str] | None = None,
) -> CaptionResult:
    """Return the dataset with staged captions, and the findings about them.

    ``connected``: captions from a node in the graph (one per subject image, or one text with a
    caption per line); they replace the caption files before the rules apply.
    """
    token, class_word = trigger_token.strip(), class_word.strip() or "person"
    if not token:
        raise IdentityError(
            "The trigger token is empty", "enter a rare made-up word, e.g. zyqux", "trigger_token"
        )
    if mode not in MODES:
        raise IdentityError(f"Unknown caption mode {mode!r}", f"choose one of: {', '.join(MODES)}", "mode")
    if connected is not None:
        if mode == MODE_TEMPLATE:
            raise IdentityError(
                f"Captions are connected but mode is '{MODE_TEMPLATE}', which would replace them",
                f"choose '{MODE_ENFORCE}' to train with the connected captions, or disconnect them",
                "mode",
            )
        dataset = with_connected_captions(dataset, connected)
    uniqueness = token_uniqueness(token, tokenizers)
    findings = [_uniqueness_finding(uniqueness)]
    findings += _encoding_findings(dataset.items)
    findings += _character_findings(dataset.items)
    notes = dataset.extra.get("image_notes", {})
    items = tuple(_subject_caption(item, token, class_word, mode, notes.get(item.image_path.name, {}))
                  for item in dataset.items)  # fmt: skip
    findings += style_findings(items, token, tokenizers)
    regularization = dataset.regularization
    if regularization is not None:
        reg_items, reg_finding = _regularization_captions(regularization.items, token, class_word)
        regularization = regularization.replace(items=reg_items, trigger_token=None, class_word=class_word)
        findings.append(reg_finding)
    staged = dataset.replace(
        items=items,
        trigger_token=token,
        class_word=class_word,
        token_uniqueness=uniqueness,
        regularization=regularization,
        extra={**dataset.extra, "caption_findings": tuple(f for f in findings if f.severity != PASS)},
    )
    return CaptionResult(staged, findings)


def clean_caption(text: str) -> str:
    """What the engine should read: one line, no BOM/zero-width/control characters."""
    text = "".join(ch for ch in text if ch not in _ZERO_WIDTH)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = ", ".join(lines)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def template_caption(token: str, class_word: str, note: dict | None = None) -> str:
    """``<token>, a <class>`` plus what DatasetCheck measured: framing, view, light, background."""
    article = "an" if class_word[:1].lower() in "aeiou" else "a"
    parts = [token, f"{article} {class_word}"]
    note = note or {}
    if note.get("framing"):
        parts.append({"portrait": "close-up portrait"}.get(note["framing"], note["framing"]))
    if note.get("pose") and note["pose"] != "front":
        parts.append(f"{note['pose']} view")
    parts += [text for text in (note.get("light"), note.get("background")) if text]
    return ", ".join(parts)


def _has_token(caption: str, token: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(token)}(?![\w])", caption, re.I) is not None


def _subject_caption(item: DatasetItem, token: str, class_word: str, mode: str, note: dict) -> DatasetItem:
    existing = clean_caption(item.caption) if item.caption else ""
    if mode == MODE_TEMPLATE or not existing:
        return DatasetItem(item.image_path, template_caption(token, class_word, note), CAPTION_TEMPLATE,
                           item.caption_path)  # fmt: skip
    from_graph = item.caption_source == CAPTION_GRAPH
    if _has_token(existing, token):
        source = (
            CAPTION_GRAPH if from_graph else (CAPTION_FILE if existing == item.caption else CAPTION_EDITED)
        )
        return DatasetItem(item.image_path, existing, source, item.caption_path)
    source = CAPTION_GRAPH if from_graph else CAPTION_EDITED
    return DatasetItem(item.image_path, f"{token}, {existing}", source, item.caption_path)


def _regularization_captions(items, token: str, class_word: str) -> tuple[tuple[DatasetItem, ...], Finding]:
    article = "an" if class_word[:1].lower() in "aeiou" else "a"
    default = f"{article} {class_word}"
    leaked, staged = [], []
    for item in items:
        caption = clean_caption(item.caption) if item.caption else ""
        if caption and _has_token(caption, token):
            leaked.append(item.image_path.name)
            caption = re.sub(
                rf",?\s*(?<![\w]){re.escape(token)}(?![\w]),?\s*", " ", caption, flags=re.I
            ).strip(" ,")
        source = CAPTION_EDITED if caption != (item.caption or "") else CAPTION_FILE
        source = source if caption else CAPTION_TEMPLATE
        staged.append(DatasetItem(item.image_path, caption or default, source,
                                  item.caption_path))  # fmt: skip
    if leaked:
        finding = Finding(
            check="regularization_token",
            severity=WARN,
            measured=len(leaked),
            threshold="no trigger token in regularization captions",
            message=f"The trigger token appeared in regularization captions: {', '.join(leaked)}; removed in "
            "the staged captions.",
            fix="Regularization captions should read only the class, e.g. '" + default + "'.",
            files=tuple(leaked),
        )
    else:
        finding = Finding(
            check="regularization_token",
            severity=PASS,
            measured=0,
            threshold="no trigger token in regularization captions",
            message=f"Regularization captions are free of the token (default '{default}').",
        )
    return tuple(staged), finding


def _uniqueness_finding(uniqueness) -> Finding:
    measured = {"clip_pieces": list(uniqueness.clip_pieces), "t5_pieces": list(uniqueness.t5_pieces)}
    threshold = "several meaningless pieces in both CLIP-L and T5"
    if uniqueness.is_unique:
        return Finding(
            check="token_uniqueness",
            severity=PASS,
            measured=measured,
            threshold=threshold,
            message=uniqueness.reason,
        )
    fix = "Use a rare token instead"
    if uniqueness.alternatives:
        fix += ", e.g. " + ", ".join(uniqueness.alternatives)
    fix += "; or keep it and let TrainIdentityLoRA train the text encoder briefly (two-phase policy)."
    return Finding(
        check="token_uniqueness",
        severity=WARN,
        measured=measured,
        threshold=threshold,
        message=uniqueness.reason,
        fix=fix,
    )


def _encoding_findings(items) -> list[Finding]:
    bad = []
    for item in items:
        if item.caption_path is not None and item.caption_path.is_file():
            _, error = read_caption(item.caption_path)
            if error:
                bad.append(f"{item.caption_path.name}: {error}")
    if not bad:
        return []
    return [
        Finding(
            check="caption_encoding",
            severity=WARN,
            measured=len(bad),
            threshold="UTF-8 caption files",
            message="Caption files in a wrong encoding (read as Windows-1252; the staged copy is UTF-8): "
            + "; ".join(bad),
            fix="Re-save them as UTF-8, or run with write_captions to rewrite them (after a backup).",
            files=tuple(b.split(":")[0] for b in bad),
        )
    ]


def _character_findings(items) -> list[Finding]:
    problems: dict[str, list[str]] = defaultdict(list)
    for item in items:
        text = item.caption or ""
        name = item.caption_path.name if item.caption_path else item.image_path.name
        if text.startswith("\ufeff"):
            problems["a byte-order mark at the start (it would glue onto the first word)"].append(name)
        if any(ch in _ZERO_WIDTH for ch in text.lstrip("\ufeff")):
            problems["invisible zero-width characters"].append(name)
        if len([line for line in text.splitlines() if line.strip()]) > 1:
            problems["several lines (the engine reads only the first)"].append(name)
        if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n" for ch in text):
            problems["control characters"].append(name)
        if "{" in text or "}" in text or "|||" in text:
            problems["'{ }' or '|||' (the engine's wildcard and keep-token syntax)"].append(name)
        if item.caption is not None and not text.strip():
            problems["an empty caption file (the engine stops on it)"].append(name)
    fix = "The staged captions are cleaned; fix the files too if you train outside this workflow."
    return [
        Finding(
            check="caption_characters",
            severity=WARN,
            measured=len(names),
            threshold="plain one-line UTF-8 text",
            message=f"Captions with {problem}: {', '.join(names)}.",
            fix=fix,
            files=tuple(names),
        )
        for problem, names in problems.items()
    ]

"""The node help pages the frontend shows (``web/docs/<NodeClass>.md``), built from the nodes.

ComfyUI's frontend (1.2x and later) opens ``/extensions/<pack>/docs/<NodeClass>.md`` in a node's
help panel; ComfyUI serves the pack's ``web/`` folder there. Each page says what the node does,
its inputs and outputs, the thresholds it uses with their sources, and what to do when it fails.

What the node already says is not written twice: the description and the input and output
tooltips come from the server's ``/object_info`` (the same text the frontend shows on hover), and
the threshold figures and their sources from the data the pack uses (``identity_core``,
``sd_scripts_bridge``). Only what the nodes cannot say (failures, the picture, a line for an input
without a tooltip) is written here. ``scripts/build_node_docs.py`` writes the pages; a test holds
the committed pages to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from identity_core.dataset.thresholds import PROFILE_RESOLUTION
from identity_core.dataset.thresholds import Thresholds as DatasetThresholds
from identity_core.evaluation.prompts import DEFAULT_STRENGTHS_TEXT, PROBE_STRENGTHS
from identity_core.evaluation.run_likeness import PROFILE_EARLY_STOP
from identity_core.evaluation.thresholds import SOURCES
from identity_core.faces.identity_scale import ARCFACE_SCALE, DLIB_SCALE
from sd_scripts_bridge.plan.profiles import FAST, FINAL
from sd_scripts_bridge.plan.tiers import MEASURED_ON, TIER_ORDER

from .object_info import frontend_inputs, output_names

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO_ROOT / "web" / "docs"
BUILD_COMMAND = "python scripts/build_node_docs.py"
PIPELINE_PICTURE = ("images/identity_fast.jpg", "The fast workflow: dataset, models, training, evaluation")
EVALUATE_PICTURE = ("images/identity_evaluate.jpg", "The evaluate workflow: reference photos, sweep, score")


@dataclass(frozen=True)
class NodeDocText:
    """What a page says beyond the node's own texts."""

    thresholds: Sequence[str] = ()
    when_it_fails: Sequence[str] = ()
    input_notes: Mapping[str, str] = field(default_factory=dict)  # for inputs without a tooltip
    output_notes: Mapping[str, str] = field(default_factory=dict)  # for outputs without one
    picture: tuple[str, str] | None = None  # (path under web/docs, alt text)


def _scale_lines(scale: Any) -> list[str]:
    return [f"{scale.model}: {source}" for source in scale.sources]


_DATASET = DatasetThresholds()
_FAILS_WITH_A_FIX = (
    "Every refusal names what happened, the file and what to do; read the node's text result first."
)

DOC_TEXT: dict[str, NodeDocText] = {
    "DatasetCheck": NodeDocText(
        picture=PIPELINE_PICTURE,
        thresholds=(
            f"{_DATASET.min_images}-{_DATASET.max_images} photos; more than {_DATASET.max_no_face_share:.0%} "
            f"without a usable face fails (docs/profiles.md, dataset rules); with a detector that cannot "
            f"see full profiles only above {_DATASET.max_no_face_share_any_detector:.0%}.",
            f"Angles: front under {_DATASET.front_max_yaw:.0f}° yaw, profile from "
            f"{_DATASET.profile_min_yaw:.0f}°; each pose class at least {_DATASET.min_pose_share:.0%} "
            "(the dataset rules' angle mix, docs/profiles.md).",
            f"Framing by face height / image height: portrait above {_DATASET.portrait_min_face_ratio}, "
            f"full body below {_DATASET.full_body_max_face_ratio}; at least "
            f"{_DATASET.min_non_portrait_share:.0%} not portraits.",
            f"Near-duplicates at <= {_DATASET.duplicate_phash_distance} phash bits; blur below "
            f"{_DATASET.min_sharpness:.0f} (our measurements on real photos, project notes faces.md §4).",
            "Size: the profile's bucket range "
            + ", ".join(f"{name} {low}-{high} px" for name, (_, low, high) in PROFILE_RESOLUTION.items())
            + ".",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "A folder outside ComfyUI's input folder is refused unless the server owner allows its root "
            "(docs/shared-server.md, 'Folders').",
            "No faces found: with face_backend auto and no insightface pack, CenterFace + dlib run "
            "offline; dlib's HOG sees front-facing faces only.",
            "Verdict 'fail' (too few photos, too many without a face...): the training node refuses "
            "the dataset; fix what the findings say and run the check again.",
        ),
    ),
    "CaptionTokenizer": NodeDocText(
        picture=PIPELINE_PICTURE,
        thresholds=(
            "The trigger token must be rare for both text encoders: CLIP-L and T5 split it into pieces, "
            "and a piece that is a common word makes the token carry that meaning (token check in "
            "identity_core/dataset/tokens.py).",
            "Captions describe what changes (framing, view, light, place), never the person's fixed "
            "traits (hair, eye or skin colour, face shape): the LoRA should learn those from the "
            "photos (docs/profiles.md, captions and the trigger token).",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "The token is common for CLIP-L or T5: pick a made-up word such as `zyqux`; the report "
            "suggests some.",
            "write_captions is off by default: the node changes captions in memory only. With it on, "
            "files are written atomically after a backup.",
        ),
    ),
    "TrainIdentityLoRA": NodeDocText(
        picture=PIPELINE_PICTURE,
        thresholds=(
            f"Profiles: fast {FAST.settings['resolution'].value} px, "
            f"{FAST.settings['max_train_steps'].value} steps, rank {FAST.settings['network_dim'].value} "
            f"({FAST.purpose}); final {FINAL.settings['resolution'].value} px, "
            f"{FINAL.settings['max_train_steps'].value} steps, rank {FINAL.settings['network_dim'].value} "
            f"({FINAL.purpose}).",
            "Early stop: "
            + "; ".join(
                f"{profile}: {policy.why}, after {policy.patience} checkpoints without a likeness gain"
                for profile, policy in PROFILE_EARLY_STOP.items()
            )
            + ".",
            f"VRAM tiers {', '.join(TIER_ORDER)}: chosen from the free VRAM, memory figures measured on "
            f"{MEASURED_ON}.",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "Engine not installed: run `python -m sd_scripts_bridge install` once (its own venv; "
            "never ComfyUI's).",
            "Out of GPU memory: with oom_fallback on (the default) the run goes on by itself on the next "
            "smaller VRAM tier from its last state; off, the error names that tier.",
            "Cancelled or ComfyUI closed: queue the same inputs again with resume on; it continues "
            "from the saved state. Re-queueing finished inputs reuses the LoRA.",
            "Loss turned NaN: the run stops and nothing is published; halve the learning rate, train in "
            "bf16 and start a new run (the run folder is kept for inspection).",
            "Refused before training: DatasetCheck's verdict is 'fail'; fix the dataset as its findings "
            "say and check it again (fix the dataset first, not the optimizer).",
        ),
    ),
    "StrengthSweep": NodeDocText(
        picture=EVALUATE_PICTURE,
        thresholds=(
            f"Strengths {DEFAULT_STRENGTHS_TEXT}; probes {', '.join(str(s) for s in PROBE_STRENGTHS)} "
            f"when likeness still rises: {SOURCES['rising_margin']}.",
            f"Checkpoints: {SOURCES['checkpoint_margin_share']}.",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "The LoRA is not in ComfyUI's loras folders: pick one from the list, or put the file into "
            "models/loras (a LoRA is never loaded from elsewhere).",
            "lora_name is '(use lora_file)' with nothing connected: pick a LoRA, or connect "
            "TrainIdentityLoRA's lora_path to lora_file.",
            "Slow: every image is a full sample; fewer seeds or strengths shorten it.",
        ),
    ),
    "ArcFaceScore": NodeDocText(
        picture=EVALUATE_PICTURE,
        thresholds=(
            *_scale_lines(ARCFACE_SCALE),
            *_scale_lines(DLIB_SCALE),
            f"Memorisation (a copy is the same aligned face again, not the same person again): "
            f"{SOURCES['copy_crop_match']}.",
            f"Carbon copies: {SOURCES['carbon_copy']}.",
            f"Same pose: {SOURCES['same_pose']}.",
            f"Diversity: {SOURCES['min_diversity']}.",
            f"Waxy skin: {SOURCES['waxy_skin']}.",
            f"Likeness per head pose: {SOURCES['likeness_by_pose']}.",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "`passed` is false: the recommendation is a best effort; the report's diagnoses say whether "
            "to fix the dataset first (most often) or the training.",
            "Without an insightface pack the offline backend (CenterFace + dlib 128-d) scores, with its "
            "own thresholds; the report names the backend and what it cannot see.",
        ),
    ),
    "LoadIdentityCheckpoints": NodeDocText(
        picture=EVALUATE_PICTURE,
        thresholds=(
            "A run folder gives only the checkpoints the pack recorded while the engine wrote them "
            "(sha256 in the run's ledger); a changed file is left out.",
        ),
        when_it_fails=(
            _FAILS_WITH_A_FIX,
            "In the evaluate workflow it ships bypassed: select it and press Ctrl+B to turn it on, "
            "then pick a run.",
            "The list is empty: train a run first, or put checkpoint files in a sub-folder of "
            "models/loras; refresh the page after a new run.",
            "No checkpoint of the run still matches what its training recorded (files replaced or "
            "removed): pick another run, or train this one again.",
        ),
    ),
}


def _inputs(info: Mapping[str, Any], text: NodeDocText) -> list[tuple[str, str]]:
    """(first cells, what it does) of every input."""
    rows = []
    for spec in frontend_inputs(info):
        what = spec.options.get("tooltip") or text.input_notes.get(spec.name, "")
        kind = "list" if spec.combo_options is not None else spec.type_name
        default = spec.options.get("default")
        shown_default = "" if default in (None, "") or not what else f" (default `{default}`)"
        optional = ", optional" if spec.optional else ""
        described = f"{_cell(what)}{shown_default}" if what else ""
        rows.append((f"- `{spec.name}` ({kind}{optional})", described))
    return rows


def _outputs(info: Mapping[str, Any], text: NodeDocText) -> list[tuple[str, str]]:
    tooltips = list(info.get("output_tooltips") or [])
    rows = []
    for index, (name, kind) in enumerate(zip(output_names(info), info["output"], strict=True)):
        what = (tooltips[index] if index < len(tooltips) else "") or text.output_notes.get(name, "")
        rows.append((f"- `{name}` ({kind if isinstance(kind, str) else 'list'})", _cell(what)))
    return rows


def _cell(text: str) -> str:
    """One line of Markdown text."""
    return " ".join(str(text).split())


def missing_descriptions(node_type: str, info: Mapping[str, Any]) -> list[str]:
    """Inputs and outputs that would get an empty line on the page."""
    text = DOC_TEXT[node_type]
    missing = [f"input {cells.split('`')[1]}" for cells, what in _inputs(info, text) if not what]
    return missing + [f"output {cells.split('`')[1]}" for cells, what in _outputs(info, text) if not what]


def page(node_type: str, info: Mapping[str, Any]) -> str:
    """The help page of one node, from its /object_info entry and ``DOC_TEXT``."""
    text = DOC_TEXT[node_type]
    lines = [f"# {info.get('display_name') or node_type}", "", _cell(info.get("description", "")), ""]
    if text.picture:
        lines += [f"![{text.picture[1]}]({text.picture[0]})", ""]
    inputs = [f"{item}: {what}" for item, what in _inputs(info, text)]
    outputs = [f"{item}: {what}" for item, what in _outputs(info, text)]
    lines += ["## Inputs", "", *inputs, "", "## Outputs", "", *outputs, ""]
    if text.thresholds:
        lines += ["## Thresholds and their sources", "", *(f"- {_cell(t)}" for t in text.thresholds), ""]
    lines += ["## When it fails", "", *(f"- {_cell(t)}" for t in text.when_it_fails), ""]
    return "\n".join(lines)


def expected_pages(object_info: Mapping[str, Any]) -> dict[Path, str]:
    return {DOCS_DIR / f"{node}.md": page(node, object_info[node]) for node in DOC_TEXT}


def stale_pages(object_info: Mapping[str, Any]) -> list[Path]:
    return [
        path
        for path, text in expected_pages(object_info).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]

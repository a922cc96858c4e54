"""ArcFaceScore: identity similarity of a sweep to the reference person, overfit and leakage
signals, and the recommended LoRA strength (logic in ``identity_core.evaluation``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from .comfy_glue.hidden_paths import hiding_private_paths
from .comfy_glue.images import arrays_to_images, images_to_arrays, save_preview_png
from .comfy_glue.model_folders import insightface_pack_choices
from .comfy_glue.progress import is_interrupted, progress_bar, raise_if_interrupted
from .comfy_glue.server_folders import output_directory
from .face_reference import BACKENDS, load_face_backend, reference_photos
from .pack_names import CATEGORY_ROOT, DATASET_TYPE, SWEEP_TYPE


class ArcFaceScore:
    DISPLAY_NAME = "ArcFace Identity Score"
    CATEGORY = f"{CATEGORY_ROOT}/evaluation"
    DESCRIPTION = (
        "Scores each sweep image's face against the reference person with the face backend's own "
        "thresholds, checks diversity and overfit signals (same pose, carbon copies, copies of training "
        "photos), waxy skin and leakage on the control prompt, and recommends the lowest LoRA strength at "
        "which the identity prompts hold the identity. Diagnoses read the LoRA's training metadata and "
        "the reference dataset's findings (dataset first). 'passed' is False when the strength is only a "
        "best effort. A sweep over a run's checkpoints also gets a report per checkpoint and a recommended "
        "checkpoint (recommended_lora, recommended_step), published only with publish on."
    )
    RETURN_TYPES = ("FLOAT", "STRING", "IMAGE", "IMAGE", "BOOLEAN", "STRING", "INT")
    RETURN_NAMES = (
        "recommended_strength",
        "report",
        "chart",
        "annotated_grid",
        "passed",
        "recommended_lora",
        "recommended_step",
    )
    OUTPUT_TOOLTIPS = (
        "The recommended LoRA strength (a best effort when 'passed' is False).",
        "The report as text.",
        "Likeness by strength; with checkpoints, likeness by training step below it.",
        "The sweep grid with each cell's verdict.",
        "True when the recommendation met every criterion.",
        "LoraLoader's name of the recommended LoRA: with checkpoints, the file that holds the recommended "
        "checkpoint (empty when it is not in a loras folder and publish is off).",
        "The training step of the recommended checkpoint (0 when the sweep did not come from checkpoints).",
    )
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "backend": (
                    BACKENDS,
                    {
                        "default": "auto",
                        "tooltip": "auto: insightface pack if found, else CenterFace + dlib 128-d (offline).",
                    },
                ),
                "insightface_pack": (
                    insightface_pack_choices(),
                    {
                        "default": "auto",
                        "tooltip": "A pack folder under models/insightface/models (auto: antelopev2, then "
                        "buffalo_l).",
                    },
                ),
                "identity_target": (
                    "FLOAT",
                    {
                        "default": 0.0,
                        "min": 0.0,
                        "max": 1.0,
                        "step": 0.01,
                        "tooltip": "Cosine each identity prompt must reach; 0 = the backend's likeness "
                        "target (ArcFace 0.60: what a good identity LoRA reaches; see the report's sources).",
                    },
                ),
            },
            "optional": {
                "sweep": (SWEEP_TYPE, {"tooltip": "StrengthSweep's sweep output."}),
                "images": (
                    "IMAGE",
                    {"tooltip": "Plain images, or the sweep's images after editing (same count)."},
                ),
                "reference_dataset": (
                    DATASET_TYPE,
                    {"tooltip": "The checked training set: its DatasetCheck findings are named first."},
                ),
                "reference_images": ("IMAGE", {"tooltip": "Reference photos, instead of the dataset."}),
                "publish": (
                    "BOOLEAN",
                    {
                        "default": False,
                        "tooltip": "With a sweep over a run's checkpoints: publish the recommended one. Over "
                        "the run's LoRA only when this prompt's own TrainIdentityLoRA trained the run (the "
                        "file it replaces is kept in identity/replaced/); otherwise as a new file "
                        "identity/<run>-step<N>.safetensors. Off: nothing is written.",
                    },
                ),
            },
        }

    @hiding_private_paths
    def run(
        self,
        backend,
        insightface_pack,
        identity_target,
        sweep=None,
        images=None,
        reference_dataset=None,
        reference_images=None,
        publish=False,
    ):
        from ..identity_core.evaluation import (
            DatasetEvidence,
            EvaluationCancelled,
            Thresholds,
            build_reference,
            evaluate_sweep,
        )
        from ..identity_core.input_limits import check_number
        from .input_checks import require_dataset, require_images

        check_number("identity_target", identity_target, 0.0, 1.0)
        require_images("images", images, optional=True)
        require_dataset("reference_dataset", reference_dataset, optional=True)
        require_images("reference_images", reference_images, optional=True)
        sweep = _sweep_to_score(sweep, images)
        photos = reference_photos(reference_dataset, reference_images)
        choice = load_face_backend(backend, insightface_pack)
        progress = progress_bar(len(photos) + len(sweep.entries))
        reference = build_reference(photos, choice.backend, should_cancel=is_interrupted)
        raise_if_interrupted()
        progress.update_absolute(len(photos))
        thresholds = Thresholds.from_scale(choice.backend.scale, identity_target)
        try:
            report = evaluate_sweep(
                sweep,
                reference,
                choice.backend,
                thresholds,
                backend_message=choice.message,
                should_cancel=is_interrupted,
                on_image=lambda done, _total: progress.update_absolute(len(photos) + done),
                dataset=DatasetEvidence.from_dataset(reference_dataset) if reference_dataset else None,
            )
        except EvaluationCancelled:
            raise_if_interrupted()
            raise
        return _outputs(report, sweep, _recommended_lora(report, publish is True))


def _recommended_lora(report, publish: bool) -> tuple[str, int]:
    """(LoraLoader name, step): the recommended checkpoint (published when asked), or the
    recommended LoRA of a plain sweep."""
    if report.checkpoints is not None:
        from .checkpoint_publish import publish_recommended

        return publish_recommended(report, publish)
    return report.recommendation.lora_name, 0


def _sweep_to_score(sweep, images):
    from ..identity_core.evaluation import EvaluationError, Sweep
    from ..identity_core.evaluation.model import with_images

    if sweep is None and images is None:
        raise EvaluationError(
            "Nothing to score", "connect StrengthSweep's sweep output or an image batch", "sweep / images"
        )
    if sweep is not None and not isinstance(sweep, Sweep):
        raise EvaluationError(
            f"The sweep input got a {type(sweep).__name__}, not a strength sweep",
            "connect StrengthSweep's sweep output (a sweep cannot be written as a value in the workflow or "
            "the API prompt)",
            "sweep",
        )
    if images is None:
        return sweep
    from ..identity_core.input_limits import check_count

    check_count("sweep images", len(images))
    check_count("sweep megapixels", -(-len(images) * images.shape[1] * images.shape[2] // 1_000_000))
    arrays = images_to_arrays(images)
    if sweep is None:
        return Sweep.from_images(arrays)
    return with_images(sweep, arrays)


def _annotations(report):
    from ..identity_core.reports.grid import BAD_COLOUR, NEUTRAL_COLOUR, OK_COLOUR, WARN_COLOUR, CellMark

    captions = {i.index: (f"{i.similarity:.2f}" if i.face_found else "no face") for i in report.images}
    marks = {}
    for c in report.cells:
        mean = "-" if c.similarity_mean is None else f"{c.similarity_mean:.2f}"
        if c.is_control:
            mark = (
                CellMark(f"LEAK {mean}", BAD_COLOUR)
                if c.leakage
                else CellMark(f"control {mean}", NEUTRAL_COLOUR)
            )
        elif c.overfit:
            mark = CellMark(f"overfit {mean}", WARN_COLOUR)
        elif c.reaches_target:
            mark = CellMark(f"{'style ok' if c.role == 'style' else 'ok'} {mean}", OK_COLOUR)
        elif c.role == "style":
            mark = CellMark(f"style low {mean}", WARN_COLOUR)
        else:
            mark = CellMark(f"low {mean}", BAD_COLOUR)
        marks[(c.lora_name, c.prompt_id, c.strength)] = mark
    return captions, marks


def _outputs(report, sweep, recommended: tuple[str, int]):
    from ..identity_core.reports.checkpoint_chart import checkpoint_chart
    from ..identity_core.reports.grid import sweep_grid

    captions, marks = _annotations(report)
    grid = sweep_grid(sweep, captions, None if sweep.plain_images else marks, title=report.backend_name)
    chart = checkpoint_chart(report)
    folder = Path(output_directory()) / "identity_lora"
    json_path = report.write_json(
        folder / f"arcface_score_{time.strftime('%Y%m%d-%H%M%S')}_{id(report) % 10000}.json"
    )
    shown_path = f"identity_lora/{json_path.name}"  # in the output folder; no server path in the text
    text = report.to_text() + f"\n\nJSON report: {shown_path} (output folder)"
    ui = {
        "text": [text],
        "images": [
            save_preview_png(chart, "arcface_chart"),
            save_preview_png(grid, "arcface_grid"),
        ],
        "identity_report": [
            json.loads(
                json.dumps(
                    {
                        "path": shown_path,
                        **report.to_dict()["recommendation"],
                        "recommended_lora": recommended[0],
                        "recommended_step": recommended[1],
                    }
                )
            )
        ],
    }
    return {
        "ui": ui,
        "result": (
            float(report.recommendation.strength),
            text,
            arrays_to_images([chart]),
            arrays_to_images([grid]),
            bool(report.recommendation.passed),
            recommended[0],
            int(recommended[1]),
        ),
    }

"""TEST ONLY single-file ComfyUI custom node: a training run's checkpoints (IDENTITY_CHECKPOINTS).

``TestCheckpointSet`` makes the pack's own ``CheckpointSet`` value, as TrainIdentityLoRA or the
checkpoint loader will, from the LoRA files a test wrote into ``<base>/runs/<run>/`` (named
``<name>-stepNNNNNNNN.safetensors``), with the run's published LoRA at
``models/loras/<publish_name>``, a falling loss per step and, when ``likeness`` is set
(``{"step": similarity}``), the likeness curve training would have measured from its samples.
``trained_here`` marks the value as TrainIdentityLoRA marks its own in the prompt that trained the
run (ArcFaceScore then may publish over the run's LoRA).
The harness loads it as a whitelisted single-file custom node
(``identity_lora_checkpoint_test_nodes.py``).
"""

import dataclasses
import importlib
import json
from pathlib import Path

IDENTITY_SAMPLES = 4  # portrait and environment x 2 seeds, as the engine samples each checkpoint


def _pack(module: str):
    from nodes import NODE_CLASS_MAPPINGS

    package = NODE_CLASS_MAPPINGS["StrengthSweep"].__module__.rsplit(".nodes.", 1)[0]
    return importlib.import_module(f"{package}.{module}")


def _curve(likeness: str, measured_by: str):
    curves = _pack("identity_core.evaluation.likeness_curve")
    curve = curves.LikenessCurve(measured_by=measured_by)
    for step, value in json.loads(likeness).items():
        point = curve.point(int(step))
        point.similarities, point.samples = [float(value)] * IDENTITY_SAMPLES, IDENTITY_SAMPLES
    return curve


class TestCheckpointSet:
    DESCRIPTION = "TEST ONLY: a training run's checkpoints from files the test wrote."
    CATEGORY = "testing/identity_lora"
    RETURN_TYPES = ("IDENTITY_CHECKPOINTS",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "run": ("STRING", {"default": "tiny"}),
                "publish_name": ("STRING", {"default": "identity/tiny.safetensors"}),
                "likeness": ("STRING", {"default": ""}),
                "measured_by": ("STRING", {"default": "dlib 128-d (not ArcFace)"}),
            },
            "optional": {
                # as TrainIdentityLoRA's output in the prompt that trained the run (False: as loaded)
                "trained_here": ("BOOLEAN", {"default": False}),
            },
        }

    def make(self, run, publish_name, likeness, measured_by, trained_here=False):
        import folder_paths
        from comfy_execution.utils import get_executing_context

        checkpoints = _pack("identity_core.evaluation.checkpoints")
        found = checkpoints.checkpoints_in_folder(Path(folder_paths.base_path) / "runs" / run)
        last = max(found.steps)
        value = dataclasses.replace(
            found,
            lora_name=publish_name,
            publish_to=Path(folder_paths.get_folder_paths("loras")[0]) / publish_name,
            likeness=_curve(likeness, measured_by) if likeness.strip() else None,
            losses=tuple((step, 1.0 - step / (2 * last)) for step in range(1, last + 1)),
            trained_in_prompt=get_executing_context().prompt_id if trained_here else None,
        )
        return (value,)


NODE_CLASS_MAPPINGS = {"TestCheckpointSet": TestCheckpointSet}
NODE_DISPLAY_NAME_MAPPINGS = {"TestCheckpointSet": "Checkpoint set from test files (TEST ONLY)"}

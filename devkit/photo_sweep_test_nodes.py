"""TEST ONLY single-file ComfyUI custom node: a strength sweep whose "generated" images are photos.

``TestPhotoSweep`` makes the pack's own IDENTITY_SWEEP value from image files a test wrote into
``input/``, laid out as StrengthSweep lays out its output: ``layout`` is JSON,
``{"strengths": [0.8, 1.0], "prompts": {"portrait": {"role": "identity", "files": [...]}, ...}}``,
each file one seed of that prompt at every strength. ArcFaceScore then judges real photos as it
judges a LoRA's images, which is how the judgement is tested on people rather than on numbers.
The harness loads it as a whitelisted single-file custom node (``identity_lora_photo_sweep_nodes.py``).
"""

import importlib
import json

LORA_NAME = "photos.safetensors"


def _pack(module: str):
    from nodes import NODE_CLASS_MAPPINGS

    package = NODE_CLASS_MAPPINGS["StrengthSweep"].__module__.rsplit(".nodes.", 1)[0]
    return importlib.import_module(f"{package}.{module}")


class TestPhotoSweep:
    DESCRIPTION = "TEST ONLY: a strength sweep made of photo files in input/."
    CATEGORY = "testing/identity_lora"
    RETURN_TYPES = ("IDENTITY_SWEEP",)
    FUNCTION = "make"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"layout": ("STRING", {"default": "{}", "multiline": True})}}

    def make(self, layout):
        import folder_paths
        import numpy as np
        from PIL import Image, ImageOps

        model = _pack("identity_core.evaluation.model")
        spec = json.loads(layout)
        images = {}
        entries = []
        for strength in spec["strengths"]:
            for prompt_id, prompt in spec["prompts"].items():
                for seed, name in enumerate(prompt["files"]):
                    if name not in images:
                        with Image.open(folder_paths.get_annotated_filepath(name)) as image:
                            images[name] = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
                    entries.append(
                        model.SweepEntry(
                            images[name], prompt_id, prompt_id, float(strength), seed, LORA_NAME,
                            role=prompt["role"],
                        )
                    )  # fmt: skip
        return (model.Sweep(entries, "ohwx", "person", settings={"made_from": "photos (test)"}),)


NODE_CLASS_MAPPINGS = {"TestPhotoSweep": TestPhotoSweep}
NODE_DISPLAY_NAME_MAPPINGS = {"TestPhotoSweep": "Sweep from photo files (TEST ONLY)"}

"""Placeholder for the TrainIdentityLoRA node; replaced by its issue's implementation."""

from .comfy_glue import CATEGORY_ROOT


class TrainIdentityLoRA:
    DISPLAY_NAME = "Train Identity LoRA (FLUX, sd-scripts)"
    CATEGORY = CATEGORY_ROOT
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        raise NotImplementedError("TrainIdentityLoRA is not implemented yet")

"""Placeholder for the StrengthSweep node; replaced by its issue's implementation."""

from .comfy_glue import CATEGORY_ROOT


class StrengthSweep:
    DISPLAY_NAME = "LoRA Strength Sweep (identity)"
    CATEGORY = CATEGORY_ROOT
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        raise NotImplementedError("StrengthSweep is not implemented yet")

"""Placeholder for the ArcFaceScore node; replaced by its issue's implementation."""

from .comfy_glue import CATEGORY_ROOT


class ArcFaceScore:
    DISPLAY_NAME = "ArcFace Identity Score"
    CATEGORY = CATEGORY_ROOT
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        raise NotImplementedError("ArcFaceScore is not implemented yet")

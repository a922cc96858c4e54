"""Placeholder for the DatasetCheck node; replaced by its issue's implementation."""

from .comfy_glue import CATEGORY_ROOT


class DatasetCheck:
    DISPLAY_NAME = "Dataset Check (identity)"
    CATEGORY = CATEGORY_ROOT
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    def run(self):
        raise NotImplementedError("DatasetCheck is not implemented yet")

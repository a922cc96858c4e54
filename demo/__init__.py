"""``make demo`` (``python -m demo``): the whole pipeline on a random-weight FLUX, end to end.

Only the driver lives here: the engine lookup or install, the fast workflow's settings and the run.
The random-weight model set, the offline tokenizers, the demo dataset and the ComfyUI host it
starts come from ``devkit/`` (the tests build on the same pieces). Random weights make every
generated image and identity score meaningless.
"""

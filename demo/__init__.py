"""Demo material: a random-weight FLUX.1 model set, offline tokenizers, a demo dataset, `make demo`.

Everything here is generated locally (no download) and is meant for tests and the demo only:
random weights make every generated image and identity score meaningless.
"""

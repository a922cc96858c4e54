"""Developer tools shared by the tests, the demo, the benchmarks and the scripts.

The real ComfyUI host harness, the engine and face-model test doubles, and the builders of the
tiny random-weight FLUX model set and the demo dataset. None of it is part of the node pack:
registry installs leave this folder out (``.comfyignore``), and ``nodes/``, ``sd_scripts_bridge/``
and ``identity_core/`` never import it. It never imports ``tests`` either; pytest fixtures stay
under ``tests/`` and call these builders.
"""

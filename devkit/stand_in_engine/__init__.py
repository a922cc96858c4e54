"""A TEST DOUBLE of the sd-scripts engine: trains nothing, speaks the real console format.

``stand_in.build_engine(root)`` lays out an engine folder around ``stand_in_trainer.py``
(installed there as ``flux_train_network.py``) and ``accelerate_launch.py``; the runner, CLI and
node tests and the overhead benchmarks train with it where the real engine is too slow.
"""

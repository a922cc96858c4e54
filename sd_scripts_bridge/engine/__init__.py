"""The engine itself: the pinned sd-scripts commit, its installed folder and venv, the doctor's checks,
the options it accepts, and its processes (started in their own group, guarded, measured, stopped)."""

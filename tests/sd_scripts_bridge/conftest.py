"""Fixtures shared by the bridge tests that run the stand-in engine.

The engine's life cycle (start, cancel, guard, resume, lock) is also tested with the platform
patched to Windows: a test marked ``@ON_BOTH_PLATFORMS`` (windows_emulation.py) runs twice,
``[posix]`` as it is and ``[windows]`` with ``platform_compat.WindowsPlatform`` over the stand-in
Windows calls of ``windows_emulation.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devkit.stand_in_engine import stand_in

# Every switch the stand-in engine reads; a test turns on the ones it needs after the pace is set.
STAND_IN_SWITCHES = (
    *("NAN_AT_STEP", "CRASH_AT_STEP", "OOM_AT_STEP", "NO_OUTPUT", "MISSING_KEYS"),
    *("IGNORE_SIGTERM", "BLOCKS", "PID_FILE", "SAMPLE_SCHEDULE"),
)


@pytest.fixture
def platform_name(request, monkeypatch) -> str:
    """``posix`` (this machine as it is), or ``windows`` when a test is parametrized so."""
    name = getattr(request, "param", "posix")
    if name == "windows":
        from tests.sd_scripts_bridge.windows_emulation import install

        install(monkeypatch)
    return name


@pytest.fixture
def engine(tmp_path, platform_name):
    """The stand-in engine, laid out for the platform under test (``Scripts/python.exe``)."""
    return stand_in.build_engine(tmp_path / "engine")


@pytest.fixture
def stand_in_pace(monkeypatch) -> Callable[[float], None]:
    """Clear the stand-in's switches left in the environment and set its seconds per step."""

    def pace(seconds_per_step: float) -> None:
        for name in STAND_IN_SWITCHES:
            monkeypatch.delenv(f"STAND_IN_{name}", raising=False)
        monkeypatch.setenv("STAND_IN_SEC_PER_STEP", str(seconds_per_step))

    return pace

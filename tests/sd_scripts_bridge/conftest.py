"""Fixtures shared by the bridge tests that run the stand-in engine."""

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
def engine(tmp_path):
    return stand_in.build_engine(tmp_path / "engine")


@pytest.fixture
def stand_in_pace(monkeypatch) -> Callable[[float], None]:
    """Clear the stand-in's switches left in the environment and set its seconds per step."""

    def pace(seconds_per_step: float) -> None:
        for name in STAND_IN_SWITCHES:
            monkeypatch.delenv(f"STAND_IN_{name}", raising=False)
        monkeypatch.setenv("STAND_IN_SEC_PER_STEP", str(seconds_per_step))

    return pace

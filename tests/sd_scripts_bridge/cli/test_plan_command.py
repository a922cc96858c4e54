"""The plan arguments become a request; the engine's GPU is asked only for a GPU run on the auto tier."""

from __future__ import annotations

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.cli import plan_command
from sd_scripts_bridge.cli.main import build_parser
from sd_scripts_bridge.model import DeviceReport

FOUND = DeviceReport(free_vram_gib=30.0, total_vram_gib=80.0, gpu_name="GPU", gpu_count=1, measured_by="x")


def plan_arguments(tmp_path, *extra: str):
    engine = stand_in.build_engine(tmp_path / "engine")
    images = tmp_path / "images"
    images.mkdir()
    models = [str(tmp_path / name) for name in ("flux", "clip_l", "t5xxl", "ae")]
    arguments = [
        "plan", "--engine", str(engine.root), "--images", str(images), "--trigger-token", "ohwx",
        "--output-name", "ohwx", "--run-dir", str(tmp_path / "run"),
        "--flux", models[0], "--clip-l", models[1], "--t5xxl", models[2], "--ae", models[3],
    ]  # fmt: skip
    return build_parser().parse_args([*arguments, *extra])


@pytest.mark.parametrize(
    "extra, asked, free",
    [
        ((), 1, 30.0),
        (("--cpu",), 0, None),
        (("--tier", "24gb"), 0, None),
        (("--vram-gib", "20"), 0, 20.0),
        (("--no-engine-check",), 0, None),
    ],
)
def test_the_gpu_is_asked_only_for_a_gpu_run_on_the_auto_tier(tmp_path, monkeypatch, extra, asked, free):
    calls = []
    monkeypatch.setattr(plan_command, "detect_device", lambda engine: calls.append(engine) or FOUND)
    request, _ = plan_command.request_from_args(plan_arguments(tmp_path, *extra))
    assert len(calls) == asked
    assert (request.device.free_vram_gib if request.device else None) == free

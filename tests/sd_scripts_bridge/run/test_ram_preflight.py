"""The RAM preflight: the estimate from the model files and the tier's flags, the comparison with the
available RAM, the host asked to drop its models when it does not fit, the refusal with figures."""

from __future__ import annotations

import dataclasses
import json
import os
import struct

import pytest

from devkit.stand_in_engine import stand_in
from sd_scripts_bridge.host_memory import Release
from sd_scripts_bridge.job import place_run, run_job
from sd_scripts_bridge.model import DeviceReport
from sd_scripts_bridge.plan.build import build_plan
from sd_scripts_bridge.plan.staging import prepare_run_dir
from sd_scripts_bridge.run.ram_preflight import (
    CPU_WORKER_RATIO,
    RAM_RATIO,
    RamPreflightError,
    check_ram,
    estimate_engine_ram,
)
from tests.sd_scripts_bridge.plan_builders import make_engine, make_images, make_request

GB = 10**9
SIZES = {"diffusion_model": 12 * GB, "clip_l": GB // 4, "t5xxl": 5 * GB, "ae": GB // 3}  # fp8 FLUX set


class FakeHost:
    """ComfyUI as the job sees it: frees VRAM, and RAM when asked (``frees`` bytes)."""

    def __init__(self, available: list[int], frees: int = 0, held: tuple[str, ...] = (), free_vram=11.2):
        self.available = available
        self.frees = frees
        self.held = held
        self.free_vram = free_vram
        self.calls: list[str] = []

    def release_vram(self) -> Release:
        self.calls.append("vram")
        device = DeviceReport(free_vram_gib=self.free_vram, measured_by="after the fake host unloaded")
        return Release("unloaded 2 model(s) the fake host held", device)

    def release_ram(self) -> Release:
        self.calls.append("ram")
        self.available[0] += self.frees
        held_bytes = 3 * GB if self.held else 0
        return Release(
            "the fake host released its models from RAM", held_ram_bytes=held_bytes, held_models=self.held
        )

    def read_available(self) -> int:
        return self.available[0]


def sized_request(tmp_path, **changes):
    """A request whose model files have full FLUX sizes (sparse: no disk is used)."""
    request = make_request(tmp_path, **changes)
    for role, size in SIZES.items():
        os.truncate(getattr(request.models, role), size)
    return request


def files_total() -> int:
    return sum(SIZES.values())


def test_the_estimate_follows_the_files_the_precision_and_the_caches(tmp_path):
    engine = make_engine(tmp_path)
    plan = build_plan(sized_request(tmp_path), engine)
    first = estimate_engine_ram(plan)
    assert first.files_bytes == files_total() and first.caching and first.precision == "fp8"
    assert first.peak_bytes == int(RAM_RATIO.caching * files_total())  # one GPU process
    assert (
        "estimate" in first.sentence() and f"{files_total() / GB:.1f} GB of model files" in first.sentence()
    )

    prepare_run_dir(plan)  # the engine writes <stem>_flux_te.npz beside each staged image
    for image in plan.staging.subject:
        (plan.staging.subject_dir / f"{os.path.splitext(image.staged_name)[0]}_flux_te.npz").touch()
    cached = estimate_engine_ram(plan)
    assert not cached.caching and cached.peak_bytes == int(RAM_RATIO.training * files_total())

    bf16 = estimate_engine_ram(build_plan(dataclasses.replace(plan.request, vram_tier="80gb"), engine))
    assert bf16.precision == "bf16" and bf16.peak_bytes > cached.peak_bytes  # caches on disk too
    two = estimate_engine_ram(build_plan(dataclasses.replace(plan.request, num_processes=2), engine))
    cpu_two = estimate_engine_ram(
        build_plan(dataclasses.replace(plan.request, num_processes=2, cpu=True), engine)
    )
    assert cpu_two.ratio == CPU_WORKER_RATIO and cpu_two.peak_bytes == 2 * int(
        CPU_WORKER_RATIO * files_total()
    )
    assert two.peak_bytes == 2 * cached.peak_bytes and "x 2 processes" in two.sentence()


def write_sized(path, size: int, dtype: str) -> None:
    """A sparse file of ``size`` bytes whose safetensors header says ``dtype``."""
    header = json.dumps({"w": {"dtype": dtype, "shape": [1], "data_offsets": [0, 1]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0")
    os.truncate(path, size)


@pytest.mark.parametrize(
    ("tier", "cached", "measured_gb"),
    [("24gb", False, 7.55), ("24gb", True, 3.08), ("80gb", False, 15.60), ("80gb", True, 15.11)],
)
def test_the_estimate_reproduces_the_tiny_sets_measured_peaks(tmp_path, tier, cached, measured_gb):
    """benchmarks/ram_peak.py's figures (the engine's part, README): the fp8 ones are the ratio
    itself; the bf16 ones come from it plus the conversions, and land within 12% (above)."""
    request = make_request(tmp_path, vram_tier=tier)
    models = request.models
    write_sized(models.diffusion_model, 1_091_101_784, "BF16")
    write_sized(models.t5xxl, 4_762_338_736, "F8_E4M3")
    write_sized(models.clip_l, 246_144_328, "F16")
    write_sized(models.ae, 335_304_108, "F32")
    plan = build_plan(request, make_engine(tmp_path))
    if cached:
        prepare_run_dir(plan)
        for image in plan.staging.subject:
            (plan.staging.subject_dir / f"{os.path.splitext(image.staged_name)[0]}_flux_te.npz").touch()
    estimate = estimate_engine_ram(plan).peak_bytes / GB
    assert measured_gb * 0.99 <= estimate <= measured_gb * 1.12, (estimate, measured_gb)


def test_when_it_fits_the_host_keeps_its_models(tmp_path):
    plan = build_plan(sized_request(tmp_path), make_engine(tmp_path))
    host = FakeHost([64 * GB])
    check = check_ram(plan, host, host.read_available)
    assert host.calls == [] and check.released == ""
    assert (
        check.sentence().startswith("RAM: engine peak RAM about") and "64.0 GB available" in check.sentence()
    )


def test_when_it_does_not_fit_the_host_frees_its_models_first(tmp_path):
    plan = build_plan(sized_request(tmp_path), make_engine(tmp_path))
    host = FakeHost([15 * GB], frees=10 * GB)
    check = check_ram(plan, host, host.read_available)
    assert host.calls == ["ram"] and check.available_bytes == 25 * GB
    assert check.sentence().endswith("25.0 GB available after the fake host released its models from RAM")


def test_when_it_still_does_not_fit_the_run_is_refused_with_the_figures(tmp_path):
    plan = build_plan(sized_request(tmp_path), make_engine(tmp_path))
    host = FakeHost([12 * GB], frees=1 * GB, held=("Flux 23.8 GB",))
    with pytest.raises(RamPreflightError) as refused:
        check_ram(plan, host, host.read_available)
    message = str(refused.value)
    estimate = estimate_engine_ram(plan)
    assert f"engine peak RAM about {estimate.peak_bytes / GB:.1f} GB" in message
    assert "only 13.0 GB is available after the fake host released its models from RAM" in message
    assert "ComfyUI still holds 3.0 GB in models this workflow uses (Flux 23.8 GB)" in message
    assert "fp8 model files" in refused.value.fix and "shipped workflows" in refused.value.fix
    assert refused.value.path == plan.request.models.diffusion_model  # the largest file


def test_without_proc_meminfo_it_says_ram_was_not_checked(tmp_path):
    plan = build_plan(sized_request(tmp_path), make_engine(tmp_path))
    check = check_ram(plan, None, lambda: None)
    assert check.sentence().startswith("RAM not checked (no /proc/meminfo on this system)")


def test_turned_off_it_only_reports_the_estimate(tmp_path):
    plan = build_plan(sized_request(tmp_path), make_engine(tmp_path))
    host = FakeHost([1 * GB])
    check = check_ram(plan, host, host.read_available, enforce=False)
    assert host.calls == [] and check.sentence().startswith("RAM check turned off: engine peak RAM about")


def test_the_job_frees_vram_before_planning_and_refuses_before_the_engine_starts(tmp_path, monkeypatch):
    """run_job with a host: the tier comes from the VRAM free after the host unloaded its models; a
    request whose estimated RAM peak is far beyond any machine is refused without a launch."""
    engine = stand_in.build_engine(tmp_path / "engine")
    request = make_request(
        tmp_path,
        vram_tier="auto",
        images=make_images(tmp_path / "photos", 4),
        publish_dir=tmp_path / "loras",
        overrides={"max_train_steps": 2, "network_dim": 4, "lr_warmup_steps": 1},
    )
    monkeypatch.setenv("STAND_IN_SEC_PER_STEP", "0.01")
    host = FakeHost([0])
    result = run_job(request, engine, host=host)
    assert host.calls == ["vram"] and result.plan.tier.name == "12gb"
    assert "11.2 GiB of VRAM free (after the fake host unloaded)" in result.plan.tier.reason
    assert "unloaded 2 model(s) the fake host held" in result.summary and "RAM: engine peak" in result.summary

    os.truncate(request.models.t5xxl, 2 * 10**12)  # a 2 TB (sparse) text encoder: another request
    huge = place_run(dataclasses.replace(request, output_name="person_v2"), tmp_path / "runs")
    host = FakeHost([0])
    with pytest.raises(RamPreflightError):
        run_job(huge, engine, host=host)
    assert host.calls == ["vram", "ram"]
    assert not (huge.run_dir / "command.json").exists()

"""``doctor``: is this engine usable, and what GPU does it see?

Checks, each with a fix when it fails: the engine folder, its recorded commit against the pin,
its key files against the pinned commit's git blob ids (honest even for a copy without ``.git``:
the files that run are compared, not a claim), then a probe run with the engine's own Python
for the Python/torch/torchvision versions, CUDA and VRAM, and ``import flux_train_network``.
The detected VRAM feeds the ``auto`` tier.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import INSTALL_COMMAND, BridgeError
from ..model import Engine
from .folder import fingerprint_mismatches, locate_engine, read_engine_info
from .pins import ENGINE_COMMIT

PROBE_TIMEOUT_S = 300
PROBE = r"""
import json, platform, sys
out = {"python": platform.python_version(), "executable": sys.executable}
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda_available"] = torch.cuda.is_available()
    out["cuda_version"] = torch.version.cuda
    if out["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        out["device_count"] = torch.cuda.device_count()
        out["device_name"] = props.name
        out["vram_gib"] = round(props.total_memory / 2**30, 2)
        out["free_vram_gib"] = round(torch.cuda.mem_get_info(0)[0] / 2**30, 2)
except Exception as error:
    out["torch_error"] = f"{type(error).__name__}: {error}"
try:
    import torchvision
    out["torchvision"] = torchvision.__version__
except Exception as error:
    out["torchvision_error"] = f"{type(error).__name__}: {error}"
try:
    sys.path.insert(0, ".")
    import flux_train_network  # noqa: F401
    out["import_flux_train_network"] = True
except BaseException as error:
    out["import_error"] = f"{type(error).__name__}: {error}"
print("DOCTOR_PROBE " + json.dumps(out))
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    engine_root: str | None
    checks: list[Check] = field(default_factory=list)
    probe: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def vram_gib(self) -> float | None:
        return self.probe.get("vram_gib")

    def add(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        self.checks.append(Check(name, ok, detail, "" if ok else fix))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "engine_root": self.engine_root,
            "vram_gib": self.vram_gib,
            "cuda_available": self.probe.get("cuda_available"),
            "checks": [asdict(check) for check in self.checks],
            "probe": self.probe,
        }

    def to_text(self) -> str:
        lines = [f"engine: {self.engine_root or '(not found)'}"]
        for check in self.checks:
            lines.append(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
            if check.fix:
                lines.append(f"         fix: {check.fix}")
        lines.append("all checks passed" if self.ok else "some checks failed")
        return "\n".join(lines)


def run_checks(
    explicit: Path | str | None = None, allow_unpinned: bool = False, probe: bool = True
) -> DoctorReport:
    try:
        engine = locate_engine(explicit)
    except BridgeError as error:
        report = DoctorReport(engine_root=str(error.path) if error.path else None)
        report.add("engine folder", False, error.what, error.fix)
        return report
    report = DoctorReport(engine_root=str(engine.root))
    report.add("engine folder", True, f"source {engine.source_dir}, python {engine.python}")
    check_commit(report, engine, allow_unpinned)
    if probe:
        check_environment(report, engine)
    return report


def check_commit(report: DoctorReport, engine: Engine, allow_unpinned: bool) -> None:
    info = read_engine_info(engine.root)
    how = info.get("commit_source", "read from .git" if engine.commit else "unknown")
    pinned = engine.commit == ENGINE_COMMIT
    report.add(
        "commit",
        pinned or allow_unpinned,
        f"{engine.commit or '(unknown)'} ({how}); pinned {ENGINE_COMMIT}"
        + ("" if pinned else " -- accepted because of --allow-unpinned" if allow_unpinned else ""),
        f"reinstall with `{INSTALL_COMMAND}` (offline: --from CHECKOUT, adding "
        f"--assume-commit {ENGINE_COMMIT} for a copy without .git), or pass --allow-unpinned",
    )
    changed = fingerprint_mismatches(engine.source_dir)
    report.add(
        "key files",
        not changed or allow_unpinned,
        "flux_train_network.py and 7 library files match the pinned commit"
        if not changed
        else f"differ from the pinned commit: {', '.join(changed)}",
        f"reinstall the engine with `{INSTALL_COMMAND}`; never edit the engine's files",
    )


def probe_engine(engine: Engine) -> dict[str, Any]:
    try:
        completed = subprocess.run(
            [str(engine.python), "-c", PROBE],
            cwd=engine.source_dir,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"probe_error": f"{type(error).__name__}: {error}"}
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("DOCTOR_PROBE "):
            return json.loads(line[len("DOCTOR_PROBE ") :])
    return {
        "probe_error": (completed.stderr or completed.stdout).strip()[-1500:]
        or f"exit {completed.returncode}"
    }


def check_environment(report: DoctorReport, engine: Engine) -> None:
    probe = probe_engine(engine)
    report.probe = probe
    reinstall = f"reinstall the engine's packages with `{INSTALL_COMMAND}`"
    if "probe_error" in probe:
        report.add("engine python", False, probe["probe_error"], f"{reinstall} (its venv may be broken)")
        return
    report.add("python", True, probe["python"])
    report.add(
        "torch",
        "torch" in probe,
        probe.get("torch") or probe.get("torch_error", ""),
        f"{reinstall}, choosing a torch build for this machine with --torch-spec",
    )
    report.add(
        "torchvision",
        "torchvision" in probe,
        probe.get("torchvision") or probe.get("torchvision_error", ""),
        f"{reinstall} with a torchvision that matches torch (--torch-spec 'torch==X torchvision==Y')",
    )
    if probe.get("cuda_available"):
        gpu = (
            f"{probe.get('device_count')} x {probe.get('device_name')}, {probe.get('vram_gib')} GiB, "
            f"{probe.get('free_vram_gib')} GiB free now (CUDA {probe.get('cuda_version')})"
        )
        report.add("cuda", True, gpu)
    else:
        # Not a failure: CPU runs (tests, the tiny demo) work; GPU training needs CUDA.
        report.add("cuda", True, "no CUDA device visible: only CPU runs (tests, tiny demo) are possible")
    report.add(
        "import flux_train_network",
        bool(probe.get("import_flux_train_network")),
        "ok" if probe.get("import_flux_train_network") else probe.get("import_error", ""),
        f"{reinstall}; the error names the missing package",
    )

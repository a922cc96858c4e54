"""doctor on fake engine folders: wrong commit, edited files, a working probe, JSON output."""

from __future__ import annotations

import json
import sys

from sd_scripts_bridge.cli.main import main
from sd_scripts_bridge.engine.doctor import run_checks
from sd_scripts_bridge.engine.pins import ENGINE_COMMIT


def fake_engine(root, commit, python_target=sys.executable):
    source = root / "sd-scripts"
    source.mkdir(parents=True)
    (source / "flux_train_network.py").write_text("VALUE = 1\n")  # importable stand-in
    python = root / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    # A launcher script, not a symlink: a symlinked venv python would lose its venv (and torch).
    python.write_text(f'#!/bin/sh\nexec "{python_target}" "$@"\n')
    python.chmod(0o755)
    (root / "engine.json").write_text(json.dumps({"commit": commit, "commit_source": "git"}))
    return root


def checks_by_name(report):
    return {check.name: check for check in report.checks}


def test_wrong_commit_fails_with_a_fix(tmp_path):
    report = run_checks(fake_engine(tmp_path / "engine", "0" * 40), probe=False)
    assert not report.ok
    commit = checks_by_name(report)["commit"]
    assert not commit.ok and "0" * 40 in commit.detail and ENGINE_COMMIT in commit.detail
    assert "sd_scripts_bridge install" in commit.fix and "--allow-unpinned" in commit.fix


def test_allow_unpinned_accepts_it(tmp_path):
    report = run_checks(fake_engine(tmp_path / "engine", "0" * 40), allow_unpinned=True, probe=False)
    assert report.ok and "--allow-unpinned" in checks_by_name(report)["commit"].detail


def test_claimed_pin_with_other_files_fails_the_key_file_check(tmp_path):
    report = run_checks(fake_engine(tmp_path / "engine", ENGINE_COMMIT), probe=False)
    checks = checks_by_name(report)
    assert checks["commit"].ok
    assert not checks["key files"].ok and "flux_train_network.py" in checks["key files"].detail


def test_probe_runs_the_engines_python(tmp_path):
    report = run_checks(fake_engine(tmp_path / "engine", "0" * 40), allow_unpinned=True)
    checks = checks_by_name(report)
    assert checks["python"].detail == ".".join(map(str, sys.version_info[:3]))
    assert checks["import flux_train_network"].ok
    assert checks["torch"].ok  # the test venv has torch
    assert "cuda" in checks


def test_broken_import_is_reported_with_the_error(tmp_path):
    root = fake_engine(tmp_path / "engine", "0" * 40)
    (root / "sd-scripts" / "flux_train_network.py").write_text("import package_that_is_not_installed\n")
    report = run_checks(root, allow_unpinned=True)
    check = checks_by_name(report)["import flux_train_network"]
    assert not check.ok and "package_that_is_not_installed" in check.detail and "install" in check.fix


def test_missing_engine(tmp_path):
    report = run_checks(tmp_path / "nothing")
    assert not report.ok and "not installed" in report.checks[0].detail


def test_cli_json(tmp_path, capsys):
    code = main(["doctor", "--engine", str(fake_engine(tmp_path / "engine", "0" * 40)), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    assert {"engine_root", "vram_gib", "cuda_available", "checks", "probe"} <= set(data)
    assert all({"name", "ok", "detail", "fix"} == set(check) for check in data["checks"])

"""Reading API-format workflow files: what is refused, and with what to do."""

from __future__ import annotations

import json

import pytest

from tests.workflows.api_client.cli_runner import run_cli, write_workflow
from workflows.api_client.errors import WorkflowError
from workflows.api_client.workflow import load_workflow

PROMPT = {"1": {"class_type": "EmptyImage", "inputs": {"width": 48}}}


def test_ui_format_workflow_is_refused_with_what_to_do(tmp_path):
    workflow = write_workflow(tmp_path, {"nodes": [], "links": [], "version": 0.4})
    result = run_cli(str(workflow))
    assert result.returncode == 2
    assert "UI-format workflow" in result.stderr and "workflows/api/" in result.stderr


def test_a_workflow_file_that_cannot_be_read_is_a_client_error(tmp_path):
    with pytest.raises(WorkflowError, match=r"cannot read the workflow .*missing\.json"):
        load_workflow(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"broken\.json"):
        load_workflow(str(broken))


def test_a_saved_prompt_is_read_inside_its_wrapper_and_anything_else_is_refused(tmp_path):
    assert load_workflow(str(write_workflow(tmp_path, {"prompt": PROMPT}, "wrapped.json"))) == PROMPT
    assert load_workflow(str(write_workflow(tmp_path, PROMPT, "bare.json"))) == PROMPT
    for name, content in (("list.json", [PROMPT]), ("no_class.json", {"1": {"inputs": {}}})):
        path = tmp_path / name
        path.write_text(json.dumps(content), encoding="utf-8")
        with pytest.raises(WorkflowError, match="is not an API-format workflow"):
            load_workflow(str(path))

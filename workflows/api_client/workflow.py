"""API-format workflows (node id -> ``{class_type, inputs}``): reading one from a file, the order of
its nodes, and which input values are links."""

from __future__ import annotations

import json
from typing import Any

from .errors import WorkflowError


def load_workflow(path: str) -> dict[str, Any]:
    """The API-format workflow in ``path`` (also inside a ``{"prompt": ...}`` wrapper)."""
    try:
        with open(path, encoding="utf-8") as handle:
            workflow = json.load(handle)
    except (OSError, ValueError) as error:
        raise WorkflowError(f"cannot read the workflow {path}: {error}") from error
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise WorkflowError(
            f"{path} is a UI-format workflow (drag and drop); queue the API-format twin from workflows/api/"
        )
    if isinstance(workflow, dict) and isinstance(workflow.get("prompt"), dict):
        workflow = workflow["prompt"]
    nodes_ok = isinstance(workflow, dict) and all(
        isinstance(node, dict) and "class_type" in node for node in workflow.values()
    )
    if not nodes_ok:
        raise WorkflowError(f"{path} is not an API-format workflow (node id -> {{class_type, inputs}})")
    return workflow


def is_link(value: Any) -> bool:
    """Whether an input value is a link to another node's output: ``[node id, output index]``."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )


def node_sort_key(node_id: str) -> tuple[int, str]:
    """Numeric node ids in number order, then the others."""
    return (int(node_id), "") if node_id.isdigit() else (1 << 30, node_id)

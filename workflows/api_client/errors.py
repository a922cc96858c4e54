"""The client's errors: every one is a ``ClientError``, whose message says what happened and on
which server or file (server text in it is made safe to print)."""

from __future__ import annotations

from typing import Any

from .safe_text import clean


class ClientError(Exception):
    """Anything this client refuses or cannot do; the message is one readable paragraph."""


class ServerUnreachable(ClientError):
    """The server did not answer at all (refused, DNS, timeout)."""


class ServerError(ClientError):
    """The server answered, but with an HTTP error or with something that is not JSON."""


class ResponseTooLarge(ClientError):
    """A server answer larger than this client reads."""


class PromptRejected(ClientError):
    """The server refused the prompt (HTTP 400 validation answer or another non-200)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(describe_rejection(status, body))


class PromptLost(ClientError):
    """The server no longer knows a queued prompt (it restarted)."""


class PromptTimedOut(ClientError):
    """A prompt did not end within the time the caller gave it."""


class WorkflowError(ClientError):
    """A workflow file that cannot be read, or that is not an API-format workflow."""


class SetError(ClientError):
    """A --set entry that does not fit the workflow."""


def describe_rejection(status: int, body: Any) -> str:
    """One readable paragraph out of a /prompt refusal (ComfyUI's 400 validation answer)."""
    if not isinstance(body, dict):
        return f"server answered HTTP {status}: {clean(body)[:2000]}"
    error = body.get("error") or {}
    if isinstance(error, str):
        error = {"message": error}
    lines = [f"server refused the prompt (HTTP {status}): {error.get('message', '')}".rstrip()]
    if error.get("details"):
        lines.append(f"  {error['details']}")
    for node_id, node_error in (body.get("node_errors") or {}).items():
        class_type = node_error.get("class_type", "?")
        for item in node_error.get("errors", []):
            detail = f": {item['details']}" if item.get("details") else ""
            lines.append(f"  node {node_id} ({class_type}): {item.get('message', '')}{detail}")
    return clean("\n".join(lines))

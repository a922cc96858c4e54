"""The prompt running now, and messages for the client that queued it (never for every client)."""

from __future__ import annotations


def current_prompt() -> tuple[str | None, str | None]:
    """(prompt id, client id) of the prompt running now; a client id is None when it queued without one."""
    from server import PromptServer

    prompt_id = None
    try:
        from comfy_execution.utils import get_executing_context

        context = get_executing_context()
        prompt_id = context.prompt_id if context is not None else None
    except ImportError:  # ComfyUI before the execution context (0.3.4x)
        pass
    server = PromptServer.instance
    return prompt_id or getattr(server, "last_prompt_id", None), getattr(server, "client_id", None)


def send_event(event: str, data: dict, prompt: tuple[str | None, str | None]) -> None:
    """A custom websocket message (``{"type": event, "data": data}``) for the client that queued
    ``prompt`` (prompt id, client id), carrying the prompt id; nobody gets it when the prompt was
    queued without a client id (ComfyUI would send a message without ``sid`` to every client)."""
    from server import PromptServer

    prompt_id, client_id = prompt
    if client_id is not None:
        PromptServer.instance.send_sync(event, {**data, "prompt_id": prompt_id}, client_id)


def send_node_text(node_id: str | None, text: str, client_id: str | None) -> None:
    """Live text shown on the node while it runs (ComfyUI's progress-text channel), for the
    prompt's own client only."""
    from server import PromptServer

    if node_id is not None and client_id is not None and hasattr(PromptServer.instance, "send_progress_text"):
        PromptServer.instance.send_progress_text(text, node_id, client_id)

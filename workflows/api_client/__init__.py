"""The API client: queue API-format workflows on one or more ComfyUI servers, follow them to the
end, print and download their results. ``python workflows/queue_client.py`` runs its command line.

The client talks to a server only as a user's client would (``/prompt``, ``/ws``, ``/history``,
``/view``, ``/interrupt``, ``/queue``). ``ComfyClient`` is the reusable part; the test harness
(devkit/host.py) drives its servers with it. Every error it raises is a ``ClientError``.

One concern a module: ``connection`` (HTTP and websocket), ``follow`` (one prompt to its end),
``results`` (what a prompt produced, printed and downloaded), ``shortcuts`` (``--set``),
``terminal`` (live progress), ``jobs`` (jobs over servers), ``cli`` (the command line),
``workflow`` (reading API-format files), ``errors`` and ``safe_text``.
"""

from .cli import main
from .connection import ComfyClient
from .errors import (
    ClientError,
    PromptLost,
    PromptRejected,
    PromptTimedOut,
    ResponseTooLarge,
    ServerError,
    ServerUnreachable,
    SetError,
    WorkflowError,
)
from .results import PromptRun

__all__ = [
    "ClientError",
    "ComfyClient",
    "PromptLost",
    "PromptRejected",
    "PromptRun",
    "PromptTimedOut",
    "ResponseTooLarge",
    "ServerError",
    "ServerUnreachable",
    "SetError",
    "WorkflowError",
    "main",
]

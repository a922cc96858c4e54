"""Following one queued prompt to its end on the websocket, through dropped connections.

Every message that carries the prompt's id is collected (ComfyUI's own and the pack's progress
events; a message without one may be another user's on a shared server) until ComfyUI's
end-of-prompt signal, ``executing`` with ``node`` null. When the websocket drops (a tunnel, a
proxy, a network change) the follower reconnects and keeps asking /history until the prompt really
ends, so a long training job is never reported as failed while it runs.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import websocket

from .errors import ClientError, PromptLost, PromptTimedOut, ServerUnreachable
from .results import PromptRun

if TYPE_CHECKING:
    from .connection import ComfyClient

RECONNECT_WAIT_S = (0.5, 1.0, 2.0, 5.0)  # back-off between websocket reconnections (the last repeats)
HISTORY_POLL_S = 2.0  # how often /history is asked while the websocket is down
HISTORY_WAIT_S = 30.0  # how long the history entry of an ended prompt may take to appear
MAX_FRAME_BYTES = 64 * 2**20  # a larger text frame is not parsed (the HTTP answers' limit)


def follow_prompt(
    client: ComfyClient,
    prompt: dict[str, Any],
    on_message: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 600.0,
    extra_data: dict[str, Any] | None = None,
    on_queued: Callable[[str], None] | None = None,
) -> PromptRun:
    """Queue ``prompt``, follow it on the websocket to its end, then read its history.

    Raises PromptRejected on a validation refusal, PromptLost when the server forgets the prompt
    (restarted) and PromptTimedOut when it is not done within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    ws: websocket.WebSocket | None = client.connect()  # before queuing: no message is missed
    try:
        prompt_id = client.queue_prompt(prompt, extra_data)
        if on_queued:
            on_queued(prompt_id)
        follower = _Follower(client, PromptRun(prompt_id), on_message, deadline)
        reconnected = False
        while ws is not None and not follower.follow(ws, ask_history=reconnected):
            ws.close()
            ws, reconnected = follower.reconnect_unless_done(), True
    finally:
        if ws is not None:
            ws.close()
    follower.run.history = follower.wait_history(time.monotonic() + HISTORY_WAIT_S)
    return follower.run


class _Follower:
    """One prompt's messages, gathered over one or more websocket connections."""

    def __init__(
        self,
        client: ComfyClient,
        run: PromptRun,
        on_message: Callable[[dict[str, Any]], None] | None,
        deadline: float,
    ) -> None:
        self.client, self.run, self.on_message, self.deadline = client, run, on_message, deadline

    def follow(self, ws: websocket.WebSocket, ask_history: bool = False) -> bool:
        """Messages until the prompt's end (True) or until the connection drops (False).

        ``ask_history``: after a reconnection the end message may have been missed, so /history
        is asked every ``HISTORY_POLL_S`` while no message arrives.
        """
        ws.settimeout(0.5)
        asked_at = time.monotonic()
        while True:
            self._check_deadline()
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                if ask_history and time.monotonic() - asked_at > HISTORY_POLL_S:
                    asked_at = time.monotonic()
                    if self.finished():
                        return True
                continue
            except (OSError, websocket.WebSocketException):
                return False
            if isinstance(frame, bytes) or len(frame) > MAX_FRAME_BYTES:
                continue  # binary preview images
            if self._take(frame):
                return True

    def _take(self, frame: str) -> bool:
        """Record one text frame of this prompt; True when it is the prompt's end."""
        try:
            message = json.loads(frame)
        except ValueError:
            return False
        data = message.get("data") if isinstance(message, dict) else None
        owner = data.get("prompt_id") if isinstance(data, dict) else None
        if owner != self.run.prompt_id:  # another prompt's, or nobody's (a shared server's broadcast)
            return False
        self.run.messages.append(message)
        if self.on_message:
            self.on_message(message)
        return message.get("type") == "executing" and data.get("node") is None

    def reconnect_unless_done(self) -> websocket.WebSocket | None:
        """A new websocket, or None when /history shows the prompt ended meanwhile."""
        for attempt in itertools.count():
            if self.finished():
                return None
            self._check_deadline()
            try:
                return self.client.connect()
            except ServerUnreachable:
                time.sleep(RECONNECT_WAIT_S[min(attempt, len(RECONNECT_WAIT_S) - 1)])
        return None  # pragma: no cover (the loop only ends by returning or raising)

    def finished(self) -> bool:
        """Whether the prompt has ended (its history entry exists); PromptLost when the server
        has neither its history nor a queue entry (it restarted and forgot the prompt)."""
        prompt_id = self.run.prompt_id
        try:
            if self.client.history(prompt_id) is not None:
                return True
            queued = prompt_id in json.dumps(self.client.queue_state())
            ended_meanwhile = not queued and self.client.history(prompt_id) is not None
        except ClientError:
            return False  # no answer yet: ask again later
        if ended_meanwhile:
            return True
        if not queued:
            raise PromptLost(
                f"the server at {self.client.url} no longer knows prompt {prompt_id} (restarted?)"
            )
        return False

    def wait_history(self, deadline: float) -> dict[str, Any]:
        while True:
            entry = self.client.history(self.run.prompt_id)
            if entry is not None or time.monotonic() > deadline:
                return entry or {}
            time.sleep(0.2)

    def _check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise PromptTimedOut(f"prompt {self.run.prompt_id} not finished in time on {self.client.url}")

"""Queue an API-format workflow on one or more ComfyUI servers and follow it to the end.

Usage::

    python workflows/queue_client.py workflows/api/identity_fast.json --server http://127.0.0.1:8188 \\
        --set dataset=/path/to/photos --set token=ohwx --download ./results

``--set KEY=VALUE`` takes a named shortcut (``dataset``, ``token``, ``steps``, ... see
``SHORTCUTS``) or ``NODE_ID.INPUT`` for any input of any node. Values are parsed as JSON when
they parse (numbers, booleans, lists), else kept as strings.

The client talks to a server only as a user's client would: ``/prompt``, ``/ws``, ``/history``,
``/view``, ``/interrupt`` and ``/queue``. ``ComfyClient`` is the reusable part; the test
harness (devkit/host.py) drives its servers with it.

Exit codes: 0 every job succeeded; 1 a job was rejected by validation or failed while running;
2 bad command line or unreachable server; 130 cancelled with Ctrl-C (the prompt is interrupted
and removed from the queue).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import websocket

TRAINING_EVENT = "identity_lora.progress"
END_OF_PROMPT_TYPES = ("execution_success", "execution_error", "execution_interrupted")
MAX_JSON_BYTES = 64 * 2**20  # /object_info of a large install is ~20 MB
MAX_FILE_BYTES = 512 * 2**20  # one image or file from /view
RECONNECT_WAIT_S = (0.5, 1.0, 2.0, 5.0)  # back-off between websocket reconnections (the last repeats)
HISTORY_POLL_S = 2.0  # how often /history is asked while the websocket is down
# Terminal control sequences and control characters a server could put in its text (the newline
# and the tab stay): printed raw they could rewrite the user's terminal.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean(text: Any) -> str:
    """Server text made safe to print: terminal escapes and control characters removed."""
    return _CONTROL.sub("", str(text))


class ServerUnreachable(ConnectionError):
    """The server did not answer at all (refused, DNS, timeout)."""


class PromptLost(RuntimeError):
    """The server no longer knows a queued prompt (it restarted)."""


class PromptRejected(RuntimeError):
    """The server refused the prompt (HTTP 400 validation answer or another non-200)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(describe_rejection(status, body))


# --------------------------------------------------------------------------------------
# Results of one prompt
# --------------------------------------------------------------------------------------


@dataclass
class PromptRun:
    """Everything one queued prompt produced: its websocket messages and its history entry."""

    prompt_id: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ "success", "error" or "interrupted" (from the ws messages, then the history)."""
        types = [m.get("type") for m in self.messages]
        if "execution_interrupted" in types:
            return "interrupted"
        if "execution_error" in types:
            return "error"
        if "execution_success" in types:
            return "success"
        for kind, _data in self.history.get("status", {}).get("messages", []):
            if kind == "execution_interrupted":
                return "interrupted"
        status_str = self.history.get("status", {}).get("status_str")
        return "success" if status_str == "success" else "error"

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """The ``ui`` results by node id, as /history holds them."""
        return dict(self.history.get("outputs", {}))

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``execution_error`` (or ``execution_interrupted``) data, None when it succeeded."""
        for message in self.messages:
            if message.get("type") in ("execution_error", "execution_interrupted"):
                return message.get("data")
        for kind, data in self.history.get("status", {}).get("messages", []):
            if kind in ("execution_error", "execution_interrupted"):
                return data
        return None

    def progress(self, node_id: str) -> list[tuple[int, int]]:
        """(value, max) of every ``progress`` message sent while ``node_id`` ran."""
        return [
            (m["data"]["value"], m["data"]["max"])
            for m in self.messages
            if m.get("type") == "progress" and str(m["data"].get("node")) == str(node_id)
        ]

    def executed(self) -> dict[str, dict[str, Any]]:
        """The ``output`` of every ``executed`` ws message by node id."""
        return {
            str(m["data"]["node"]): m["data"].get("output") or {}
            for m in self.messages
            if m.get("type") == "executed"
        }

    def texts(self) -> list[tuple[str, str]]:
        """(node id, text) for every ``text`` entry in the outputs."""
        found = []
        for node_id, output in self.outputs.items():
            for text in output.get("text", []) or []:
                found.append((node_id, str(text)))
        return found

    def images(self) -> list[tuple[str, dict[str, Any]]]:
        """(node id, {filename, subfolder, type}) for every image in the outputs."""
        found = []
        for node_id, output in self.outputs.items():
            for image in output.get("images", []) or []:
                if isinstance(image, dict) and "filename" in image:
                    found.append((node_id, image))
        return found


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


def describe_failure(run: PromptRun) -> str:
    """What went wrong in a prompt that ran: node, exception type and message."""
    error = run.error or {}
    where = f"node {error.get('node_id', '?')} ({error.get('node_type', '?')})"
    if run.status == "interrupted":
        return f"prompt {run.prompt_id} was interrupted at {where}"
    kind = error.get("exception_type", "error")
    message = str(error.get("exception_message", "")).strip() or "no message"
    return clean(f"prompt {run.prompt_id} failed at {where}: {kind}: {message}")


# --------------------------------------------------------------------------------------
# HTTP + websocket client
# --------------------------------------------------------------------------------------


class ResponseTooLarge(RuntimeError):
    """A server answer larger than this client reads."""


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the server it came from (scheme, host and port)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            raise urllib.error.HTTPError(
                req.full_url, code, clean(f"refused a redirect to another server ({newurl})"), headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects)


def _read_capped(response: Any, limit: int, url: str) -> bytes:
    payload = response.read(limit + 1)
    if len(payload) > limit:
        raise ResponseTooLarge(f"the answer of {url} is larger than {limit // 2**20} MB; not read")
    return payload


class ComfyClient:
    """A ComfyUI server seen through its public HTTP and websocket API."""

    def __init__(self, url: str, client_id: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout

    # -- HTTP ------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, body: Any = None, limit: int = MAX_JSON_BYTES
    ) -> tuple[int, bytes]:
        """One HTTP exchange; the answer is read up to ``limit`` bytes (larger is an error), and a
        redirect to another host is refused."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.status, _read_capped(response, limit, self.url + path)
        except urllib.error.HTTPError as error:
            return error.code, _read_capped(error, limit, self.url + path)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServerUnreachable(f"cannot reach ComfyUI at {self.url}: {clean(reason)}") from error

    def get_json(self, path: str) -> Any:
        status, payload = self._request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {self.url}{path} answered HTTP {status}: {payload[:300]!r}")
        return json.loads(payload)

    def post_json(self, path: str, body: Any) -> tuple[int, Any]:
        status, payload = self._request("POST", path, body)
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode("utf-8", "replace")

    def system_stats(self) -> dict[str, Any]:
        return self.get_json("/system_stats")

    def object_info(self, node_type: str | None = None) -> dict[str, Any]:
        if node_type is None:
            return self.get_json("/object_info")
        return self.get_json(f"/object_info/{urllib.parse.quote(node_type)}")

    def post_prompt(
        self, prompt: dict[str, Any], extra_data: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """POST /prompt; returns (HTTP status, answer) without judging it."""
        body: dict[str, Any] = {"prompt": prompt, "client_id": self.client_id}
        if extra_data:
            body["extra_data"] = extra_data
        return self.post_json("/prompt", body)

    def queue_prompt(self, prompt: dict[str, Any], extra_data: dict[str, Any] | None = None) -> str:
        """POST /prompt and return the prompt id; raises PromptRejected on a refusal."""
        status, answer = self.post_prompt(prompt, extra_data)
        if status != 200 or not isinstance(answer, dict) or "prompt_id" not in answer:
            raise PromptRejected(status, answer)
        return answer["prompt_id"]

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """This prompt's /history entry, None while it is not finished."""
        entry = self.get_json(f"/history/{urllib.parse.quote(prompt_id)}")
        return entry.get(prompt_id)

    def queue_state(self) -> dict[str, Any]:
        return self.get_json("/queue")

    def is_idle(self) -> bool:
        state = self.queue_state()
        return not state.get("queue_running") and not state.get("queue_pending")

    def interrupt(self, prompt_id: str | None = None) -> int:
        """POST /interrupt (only this prompt, when given); returns the HTTP status."""
        body = {"prompt_id": prompt_id} if prompt_id else {}
        return self.post_json("/interrupt", body)[0]

    def delete_from_queue(self, prompt_ids: Iterable[str]) -> int:
        return self.post_json("/queue", {"delete": list(prompt_ids)})[0]

    def view(self, filename: str, subfolder: str = "", folder_type: str = "output") -> bytes:
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
        status, payload = self._request("GET", f"/view?{query}", limit=MAX_FILE_BYTES)
        if status != 200:
            raise RuntimeError(f"GET /view for {subfolder}/{filename} ({folder_type}) answered HTTP {status}")
        return payload

    # -- websocket -------------------------------------------------------------------
    def connect(self) -> websocket.WebSocket:
        """Open /ws for this client id (open it before queuing so no message is missed)."""
        scheme, rest = self.url.split("://", 1)
        ws_url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?clientId={self.client_id}"
        try:
            return websocket.create_connection(ws_url, timeout=self.timeout)
        except (OSError, websocket.WebSocketException) as error:
            raise ServerUnreachable(f"cannot open the websocket of {self.url}: {error}") from error

    def run(
        self,
        prompt: dict[str, Any],
        on_message: Callable[[dict[str, Any]], None] | None = None,
        timeout: float = 600.0,
        extra_data: dict[str, Any] | None = None,
        on_queued: Callable[[str], None] | None = None,
    ) -> PromptRun:
        """Queue ``prompt``, follow it on the websocket to its end, then read its history.

        Collects every message that carries the prompt's id (ComfyUI's own and the pack's progress
        events; a message without one may be another user's on a shared server) until ComfyUI's
        end-of-prompt signal, ``executing`` with ``node`` null. When the websocket drops (a
        tunnel, a proxy, a network change) it reconnects and keeps asking /history until the
        prompt really ends, so a long training job is never reported as failed while it runs.
        Raises PromptRejected on a validation refusal, PromptLost when the server forgets the
        prompt (restarted) and TimeoutError when it is not done within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        ws: websocket.WebSocket | None = self.connect()
        try:
            prompt_id = self.queue_prompt(prompt, extra_data)
            if on_queued:
                on_queued(prompt_id)
            run = PromptRun(prompt_id)
            reconnected = False
            while ws is not None and not self._follow(ws, run, on_message, deadline, reconnected):
                ws.close()
                ws, reconnected = self._reconnect_unless_done(run, deadline), True
        finally:
            if ws is not None:
                ws.close()
        run.history = self._wait_history(prompt_id, deadline=time.monotonic() + 30)
        return run

    def _follow(
        self,
        ws: websocket.WebSocket,
        run: PromptRun,
        on_message: Callable[[dict[str, Any]], None] | None,
        deadline: float,
        ask_history: bool = False,
    ) -> bool:
        """Messages until the prompt's end (True) or until the connection drops (False).

        ``ask_history``: after a reconnection the end message may have been missed, so /history
        is asked every ``HISTORY_POLL_S`` while no message arrives.
        """
        ws.settimeout(0.5)
        asked_at = time.monotonic()
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"prompt {run.prompt_id} not finished in time on {self.url}")
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                if ask_history and time.monotonic() - asked_at > HISTORY_POLL_S:
                    asked_at = time.monotonic()
                    if self._finished(run.prompt_id):
                        return True
                continue
            except (OSError, websocket.WebSocketException):
                return False
            if isinstance(frame, bytes) or len(frame) > MAX_JSON_BYTES:
                continue  # binary preview images
            if self._take(frame, run, on_message):
                return True

    @staticmethod
    def _take(frame: str, run: PromptRun, on_message: Callable[[dict[str, Any]], None] | None) -> bool:
        """Record one text frame of this prompt; True when it is the prompt's end."""
        try:
            message = json.loads(frame)
        except ValueError:
            return False
        data = message.get("data") if isinstance(message, dict) else None
        owner = data.get("prompt_id") if isinstance(data, dict) else None
        if owner != run.prompt_id:  # another prompt's, or nobody's (a shared server's broadcast)
            return False
        run.messages.append(message)
        if on_message:
            on_message(message)
        return message.get("type") == "executing" and owner == run.prompt_id and data.get("node") is None

    def _reconnect_unless_done(self, run: PromptRun, deadline: float) -> websocket.WebSocket | None:
        """A new websocket, or None when /history shows the prompt ended meanwhile."""
        for attempt in itertools.count():
            if self._finished(run.prompt_id):
                return None
            if time.monotonic() > deadline:
                raise TimeoutError(f"prompt {run.prompt_id} not finished in time on {self.url}")
            try:
                return self.connect()
            except ServerUnreachable:
                time.sleep(RECONNECT_WAIT_S[min(attempt, len(RECONNECT_WAIT_S) - 1)])
        return None  # pragma: no cover (the loop only ends by returning or raising)

    def _finished(self, prompt_id: str) -> bool:
        """Whether the prompt has ended (its history entry exists); PromptLost when the server
        has neither its history nor a queue entry (it restarted and forgot the prompt)."""
        try:
            if self.history(prompt_id) is not None:
                return True
            queued = prompt_id in json.dumps(self.queue_state())
            ended_meanwhile = not queued and self.history(prompt_id) is not None
        except (ServerUnreachable, RuntimeError, ValueError):
            return False  # no answer yet: ask again later
        if ended_meanwhile:
            return True
        if not queued:
            raise PromptLost(f"the server at {self.url} no longer knows prompt {prompt_id} (restarted?)")
        return False

    def _wait_history(self, prompt_id: str, deadline: float) -> dict[str, Any]:
        while True:
            entry = self.history(prompt_id)
            if entry is not None or time.monotonic() > deadline:
                return entry or {}
            time.sleep(0.2)


# --------------------------------------------------------------------------------------
# --set: shortcuts and explicit node inputs
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortcut:
    """A user-facing name for one input of every node of some classes in the workflow."""

    class_types: tuple[str, ...]
    inputs: tuple[str, ...]
    help: str


# A shortcut sets, on every node of its classes, the first of its candidate input names that
# the node has (so `token` keeps CaptionTokenizer and StrengthSweep in step, and the table
# survives small input renames). Linked inputs ([node id, slot]) are never overwritten; when a
# core Primitive* node feeds one, the shortcut sets that primitive's value instead.
SHORTCUTS: dict[str, Shortcut] = {
    "dataset": Shortcut(("DatasetCheck",), ("folder", "dataset_folder"), "dataset folder"),
    "regularization": Shortcut(("DatasetCheck",), ("regularization_folder",), "regularization photos"),
    "token": Shortcut(("CaptionTokenizer", "StrengthSweep"), ("trigger_token", "token"), "trigger token"),
    "class_word": Shortcut(("CaptionTokenizer", "StrengthSweep"), ("class_word",), "class word, e.g. woman"),
    "profile": Shortcut(("DatasetCheck", "TrainIdentityLoRA"), ("profile",), "profile: fast or final"),
    "steps": Shortcut(("TrainIdentityLoRA",), ("steps", "max_train_steps"), "training steps (0 = profile)"),
    "output_name": Shortcut(("TrainIdentityLoRA",), ("output_name", "lora_name"), "name of the trained LoRA"),
    "vram": Shortcut(("TrainIdentityLoRA",), ("vram_tier",), "VRAM tier"),
    # The model files go to the training node and to the core loaders of the evaluation part.
    "diffusion_model": Shortcut(
        ("TrainIdentityLoRA", "UNETLoader"), ("diffusion_model", "unet_name"), "FLUX model file"
    ),
    "t5": Shortcut(("TrainIdentityLoRA", "DualCLIPLoader"), ("t5xxl", "clip_name2"), "T5-XXL file"),
    "clip_l": Shortcut(("TrainIdentityLoRA", "DualCLIPLoader"), ("clip_l", "clip_name1"), "CLIP-L file"),
    "ae": Shortcut(("TrainIdentityLoRA", "VAELoader"), ("ae", "vae_name"), "FLUX autoencoder file"),
    "seed": Shortcut(("TrainIdentityLoRA",), ("seed",), "training seed"),
    "lora": Shortcut(("StrengthSweep",), ("lora_name", "lora"), "LoRA to sweep (models/loras)"),
    "strengths": Shortcut(("StrengthSweep",), ("strengths",), "strengths to sweep"),
    "sweep_seed": Shortcut(("StrengthSweep",), ("base_seed",), "first seed of the sweep"),
}


class SetError(ValueError):
    """A --set entry that does not fit the workflow."""


def parse_value(text: str) -> Any:
    """JSON when it parses (``12``, ``0.5``, ``true``, ``[1, 2]``), else the text itself.

    A JSON object stays text: no node input takes an object, and STRING inputs such as
    TrainIdentityLoRA's ``advanced_settings`` hold JSON text.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, dict) else value


def is_link(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    )


def available_shortcuts(workflow: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Shortcut name -> every (node id, input name) it sets, for the shortcuts this workflow takes."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, shortcut in SHORTCUTS.items():
        targets = _shortcut_targets(workflow, shortcut)
        if targets:
            found[name] = targets
    return found


def _shortcut_targets(workflow: dict[str, Any], shortcut: Shortcut) -> list[tuple[str, str]]:
    targets = []
    for node_id in sorted(workflow, key=_node_sort_key):
        node = workflow[node_id]
        if node.get("class_type") not in shortcut.class_types:
            continue
        inputs = node.get("inputs", {})
        name = next((name for name in shortcut.inputs if name in inputs), None)
        if name is None:
            continue
        if not is_link(inputs[name]):
            targets.append((node_id, name))
            continue
        source_id = inputs[name][0]  # a core primitive node (PrimitiveString...) feeding it: set that
        source_is_primitive = workflow.get(source_id, {}).get("class_type", "").startswith("Primitive")
        if source_is_primitive and (source_id, "value") not in targets:
            targets.append((source_id, "value"))
    return targets


def _node_sort_key(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (1 << 30, node_id)


def valid_keys_text(workflow: dict[str, Any]) -> str:
    shortcuts = available_shortcuts(workflow)
    parts = [f"{name} ({SHORTCUTS[name].help})" for name in shortcuts]
    example_node = next(iter(sorted(workflow, key=_node_sort_key)), "1")
    example_input = next(iter(workflow.get(example_node, {}).get("inputs", {})), "name")
    parts.append(f"NODE_ID.INPUT for any input, e.g. {example_node}.{example_input}")
    return "valid keys: " + ", ".join(parts)


def apply_settings(workflow: dict[str, Any], settings: Sequence[str]) -> dict[str, Any]:
    """A copy of ``workflow`` with every ``KEY=VALUE`` applied; raises SetError with the valid keys."""
    result = json.loads(json.dumps(workflow))
    shortcuts = available_shortcuts(result)
    for setting in settings:
        key, sep, raw = setting.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SetError(f"--set {setting!r} is not KEY=VALUE; {valid_keys_text(result)}")
        if key in shortcuts:
            targets = shortcuts[key]
        elif "." in key and key.split(".", 1)[0] in result:
            targets = [tuple(key.split(".", 1))]
        elif key in SHORTCUTS:
            raise SetError(
                f"--set {key}: this workflow has no {'/'.join(SHORTCUTS[key].class_types)} node with an "
                f"input named {'/'.join(SHORTCUTS[key].inputs)}; {valid_keys_text(result)}"
            )
        else:
            raise SetError(f"--set {key}: unknown key; {valid_keys_text(result)}")
        for node_id, input_name in targets:
            result[node_id].setdefault("inputs", {})[input_name] = parse_value(raw)
    return result


# --------------------------------------------------------------------------------------
# Live progress and results on the terminal
# --------------------------------------------------------------------------------------


class WholeLines:
    """One output stream shared by several job threads, written a whole line at a time.

    ``print`` writes the text and its newline in two calls, so two jobs printing at once could
    run their lines together. Each thread's text is held until its line ends (or it flushes, as
    an in-place redraw does) and then written in one call under one lock.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._held = threading.local()

    def write(self, text: str) -> int:
        held = getattr(self._held, "text", "") + text
        lines, newline, rest = held.rpartition("\n")
        if newline:
            self._emit(lines + newline)
        self._held.text = rest
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._held, "text", "")
        self._held.text = ""
        self._emit(rest)

    def isatty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def _emit(self, text: str) -> None:
        with self._lock:
            if text:
                self.stream.write(text)
            self.stream.flush()


class ProgressPrinter:
    """Turns a prompt's ws messages into progress output: a bar per node, plus training status.

    On a terminal (``in_place``) the running node's bar is redrawn on one line, with the latest
    training step/loss/ETA beside it; otherwise (logs, pipes, several servers) it prints a
    line every 5 % so the output stays readable in a file.
    """

    def __init__(
        self, workflow: dict[str, Any], out: TextIO, label: str = "", in_place: bool = False
    ) -> None:
        self.workflow = workflow
        self.out = out
        self.label = f"[{label}] " if label else ""
        self.in_place = in_place
        self.lock = threading.Lock()
        self._last_percent: dict[str, int] = {}
        self._line_open = False
        self._bar = ""
        self._training = ""

    def _node_name(self, node_id: Any) -> str:
        node = self.workflow.get(str(node_id), {})
        title = node.get("_meta", {}).get("title") or node.get("class_type", "?")
        return f"#{node_id} {title}"

    def say(self, text: str) -> None:
        with self.lock:
            if self._line_open:
                self.out.write("\n")
                self._line_open = False
            print(f"{self.label}{clean(text)}", file=self.out, flush=True)

    def finish(self) -> None:
        """End a redrawn line, if one is open."""
        with self.lock:
            if self._line_open:
                self.out.write("\n")
                self.out.flush()
                self._line_open = False

    def _redraw(self, finished: bool) -> None:
        with self.lock:
            line = clean(" | ".join(part for part in (self._bar, self._training) if part))
            self.out.write(f"\r\033[K{self.label}{line}")
            self._line_open = not finished
            if finished:
                self.out.write("\n")
            self.out.flush()

    def __call__(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if kind == "executing" and data.get("node") is not None:
            self._bar = self._training = ""
            self.say(f"running {self._node_name(data['node'])}")
        elif kind == "progress":
            self._progress(str(data.get("node")), int(data.get("value", 0)), int(data.get("max", 0) or 1))
        elif kind == "execution_cached" and data.get("nodes"):
            self.say(f"cached: {', '.join(self._node_name(n) for n in data['nodes'])}")
        elif kind == TRAINING_EVENT:
            self._training = format_training_event(data)
            if self.in_place:
                self._redraw(finished=False)
            else:
                self.say(self._training)

    def _progress(self, node_id: str, value: int, maximum: int) -> None:
        self._bar = f"{progress_bar(value, maximum)} {self._node_name(node_id)}"
        if self.in_place:
            self._redraw(finished=False)  # the next printed line or finish() ends it
            return
        percent = int(100 * value / maximum) if maximum else 100
        previous = self._last_percent.get(node_id, -100)
        if percent < previous:
            previous = -100  # a new run of the node
        if percent - previous < 5 and value != maximum:
            return
        self._last_percent[node_id] = percent
        self.say(self._bar)


def progress_bar(value: int, maximum: int, width: int = 24) -> str:
    fraction = min(max(value / maximum, 0.0), 1.0) if maximum else 1.0
    filled = round(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {value}/{maximum} {int(fraction * 100):3d}%"


def format_training_event(data: dict[str, Any]) -> str:
    """``identity_lora.progress`` -> "training step 40/400 loss 0.1234 ETA 3m05s" (fields optional),
    with the latest likeness of the samples scored while training when the node sends one."""
    text = _training_line(data)
    likeness = data.get("likeness")
    if isinstance(likeness, dict) and isinstance(likeness.get("value"), (int, float)):
        text += f" | likeness {likeness['value']:.3f} at step {likeness.get('step', '?')}"
    return text


def _training_line(data: dict[str, Any]) -> str:
    step = data.get("step")
    total = data.get("total_steps", data.get("max_steps", data.get("total")))
    parts = ["training"]
    if data.get("phase"):
        parts.append(f"({data['phase']})")
    if step is not None:
        parts.append(f"step {step}/{total}" if total else f"step {step}")
    loss = data.get("loss", data.get("avr_loss"))
    if isinstance(loss, (int, float)) and math.isfinite(loss):
        parts.append(f"loss {loss:.4f}")
    eta = data.get("eta_s", data.get("eta"))
    if isinstance(eta, (int, float)) and math.isfinite(eta):
        parts.append(f"ETA {int(eta) // 60}m{int(eta) % 60:02d}s")
    if data.get("message"):
        parts.append(str(data["message"]))
    return " ".join(parts)


# Result fields a node may put in its ``ui`` dict (directly, or in a list of dicts such as
# ArcFaceScore's ``identity_report``), printed with a readable name after the node's texts.
RESULT_FIELDS = {
    "lora_name": "LoRA",
    "lora_path": "LoRA file",
    "recommended_strength": "recommended strength",
    "strength": "recommended strength",
    "passed": "passed",
    "recommended_lora": "recommended LoRA",
    "recommended_step": "recommended checkpoint step",
    "report_path": "report",
    "path": "report",
}
UI_DISPLAY_KEYS = ("text", "images", "animated", "audio")


def result_fields(output: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) for every known result field in one node's ``ui`` output."""
    found = []
    for key, value in output.items():
        if key in UI_DISPLAY_KEYS:
            continue
        items = value if isinstance(value, list) else [value]
        if key in RESULT_FIELDS:
            found.extend((RESULT_FIELDS[key], item) for item in items)
            continue
        for item in items:
            if isinstance(item, dict):
                found.extend(
                    (_label(name, label, item), item[name])
                    for name, label in RESULT_FIELDS.items()
                    if name in item
                )
    return found


def _label(name: str, label: str, item: dict[str, Any]) -> str:
    """A strength that passed nothing is a best effort, and is printed as one."""
    if name == "strength" and item.get("passed") is False:
        return "best-effort strength (no strength passed; see the report)"
    return label


def print_results(run: PromptRun, workflow: dict[str, Any], out: TextIO, label: str = "") -> None:
    """Every text of every output node, then the LoRA / strength / report fields they give."""
    prefix = f"[{label}] " if label else ""
    for node_id, output in sorted(run.outputs.items(), key=lambda item: _node_sort_key(item[0])):
        title = workflow.get(node_id, {}).get("class_type", "?")
        for text in output.get("text", []) or []:
            print(clean(f"{prefix}#{node_id} {title}: {text}"), file=out)
        for field_label, value in result_fields(output):
            print(clean(f"{prefix}#{node_id} {title}: {field_label} = {value}"), file=out)
    out.flush()


def download_images(client: ComfyClient, run: PromptRun, folder: str, overwrite: bool = False) -> list[str]:
    """Save every output image through /view into ``folder``; returns the written paths.

    The server names the files, so each name is reduced to safe characters of its base name: a
    file never lands outside ``folder``, never through a link, and an existing file is kept (the
    new one gets a numbered name) unless ``overwrite``.
    """
    os.makedirs(folder, exist_ok=True)
    written = []
    for _node_id, image in run.images():
        payload = client.view(image["filename"], image.get("subfolder", ""), image.get("type", "output"))
        written.append(_save_download(folder, download_name(image), payload, overwrite))
    return written


def download_name(image: dict[str, Any]) -> str:
    """``<subfolder>_<file name>`` from base names in safe characters only."""
    parts = [str(image.get("subfolder") or ""), str(image.get("filename") or "")]
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", part.replace("\\", "/")).strip("._") for part in parts]
    name = "_".join(part for part in safe if part)
    return name or "image"


def _save_download(folder: str, name: str, payload: bytes, overwrite: bool) -> str:
    stem, suffix = os.path.splitext(name)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for number in itertools.count():
        path = os.path.join(folder, f"{stem}_{number}{suffix}" if number else name)
        try:
            handle = os.open(path, flags | (os.O_TRUNC if overwrite else os.O_EXCL), 0o644)
        except FileExistsError:
            continue
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        return path
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------------------
# Jobs over one or more servers
# --------------------------------------------------------------------------------------


@dataclass
class Job:
    label: str
    workflow: dict[str, Any]
    prompt_id: str | None = None
    client: ComfyClient | None = None
    outcome: str = "pending"  # pending | success | error | rejected | cancelled | unreachable
    message: str = ""


class Dispatcher:
    """Runs jobs, one at a time per server, handing each job to a server that is idle."""

    def __init__(
        self,
        servers: Sequence[str],
        out: TextIO,
        err: TextIO,
        download: str | None,
        timeout: float,
        overwrite: bool = False,
    ) -> None:
        self.clients = [ComfyClient(url) for url in servers]
        self.out = WholeLines(out)
        self.err = WholeLines(err)
        self.download = download
        self.overwrite = overwrite
        self.timeout = timeout
        self.pending: list[Job] = []
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.running: list[Job] = []

    def run_all(self, jobs: Sequence[Job]) -> None:
        self.pending = list(jobs)
        self.threads = [threading.Thread(target=self._worker, args=(c,), daemon=True) for c in self.clients]
        for thread in self.threads:
            thread.start()
        self.wait()

    def wait(self, timeout: float | None = None) -> None:
        """Join the workers in short steps, so the main thread still sees Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            while thread.is_alive() and (deadline is None or time.monotonic() < deadline):
                thread.join(0.2)

    def _next_job(self) -> Job | None:
        with self.lock:
            return self.pending.pop(0) if self.pending else None

    def _worker(self, client: ComfyClient) -> None:
        while True:
            if not self._wait_idle(client):
                return
            job = self._next_job()
            if job is None:
                return
            self._run_job(client, job)

    def _wait_idle(self, client: ComfyClient) -> bool:
        """Waits until ``client``'s server has nothing running or pending (another user's work)."""
        announced = False
        while self.pending:
            try:
                if client.is_idle():
                    return True
            except ServerUnreachable as error:
                print(f"error: {error}", file=self.err, flush=True)
                return False
            if not announced:
                print(f"{client.url} is busy; waiting for its queue to empty", file=self.out, flush=True)
                announced = True
            time.sleep(1.0)
        return False

    def _run_job(self, client: ComfyClient, job: Job) -> None:
        label = job.label if len(self.clients) > 1 or job.label != "1" else ""
        in_place = len(self.clients) == 1 and hasattr(self.out, "isatty") and self.out.isatty()
        printer = ProgressPrinter(job.workflow, self.out, label, in_place=in_place)
        job.client = client
        with self.lock:
            self.running.append(job)

        def remember(prompt_id: str) -> None:
            job.prompt_id = prompt_id
            printer.say(f"queued prompt {prompt_id} on {client.url}")

        try:
            run = client.run(job.workflow, on_message=printer, timeout=self.timeout, on_queued=remember)
        except PromptRejected as error:
            job.outcome, job.message = "rejected", str(error)
        except ServerUnreachable as error:
            job.outcome, job.message = "unreachable", str(error)
        except (TimeoutError, PromptLost, ResponseTooLarge) as error:
            job.outcome, job.message = "error", str(error)
        else:
            printer.finish()
            self._report(client, job, run, printer)
        finally:
            printer.finish()
            with self.lock:
                self.running.remove(job)
        if job.outcome != "success":
            prefix = printer.label
            print(f"{prefix}error: {job.message}", file=self.err, flush=True)

    def _report(self, client: ComfyClient, job: Job, run: PromptRun, printer: ProgressPrinter) -> None:
        print_results(run, job.workflow, self.out, printer.label.strip("[] "))
        if run.status != "success":
            job.outcome = "cancelled" if run.status == "interrupted" else "error"
            job.message = describe_failure(run)
            return
        job.outcome = "success"
        if self.download:
            self._download(client, job, run, printer)
        if job.outcome == "success":
            printer.say(f"done: prompt {run.prompt_id} succeeded")

    def _download(self, client: ComfyClient, job: Job, run: PromptRun, printer: ProgressPrinter) -> None:
        """Save the outputs; a failed download fails the job (a non-zero exit)."""
        try:
            for path in download_images(client, run, self.download, self.overwrite):
                printer.say(f"downloaded {path}")
        except (OSError, RuntimeError, ServerUnreachable) as error:
            job.outcome = "error"
            job.message = f"prompt {run.prompt_id} succeeded but its download failed: {clean(error)}"

    def cancel(self) -> None:
        """Interrupt every running job's prompt and delete it (and every queued one) from the queue."""
        with self.lock:
            self.pending.clear()
            running = list(self.running)
        for job in running:
            if job.client is None or job.prompt_id is None:
                continue
            try:
                job.client.interrupt(job.prompt_id)
                job.client.delete_from_queue([job.prompt_id])
                print(f"cancelled prompt {job.prompt_id} on {job.client.url}", file=self.out, flush=True)
            except ServerUnreachable as error:
                print(f"could not cancel prompt {job.prompt_id}: {error}", file=self.out, flush=True)
            job.outcome = "cancelled"


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python workflows/queue_client.py",
        description="Queue API-format ComfyUI workflows, follow their progress and print their results.",
    )
    parser.add_argument("workflows", nargs="+", help="API-format workflow JSON file(s)")
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        help="ComfyUI server URL (repeat to spread jobs over servers); default http://127.0.0.1:8188",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a named shortcut (see --list-keys) or NODE_ID.INPUT",
    )
    parser.add_argument("--jobs", type=int, default=1, help="queue each workflow this many times")
    parser.add_argument("--download", metavar="DIR", help="save output images into DIR")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files of the same name in the --download folder"
    )
    parser.add_argument("--timeout", type=float, default=24 * 3600, help="seconds to wait for one job")
    parser.add_argument("--list-keys", action="store_true", help="print the --set keys this workflow takes")
    return parser


def load_workflow(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        workflow = json.load(handle)
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise ValueError(
            f"{path} is a UI-format workflow (drag and drop); queue the API-format twin from workflows/api/"
        )
    if isinstance(workflow, dict) and isinstance(workflow.get("prompt"), dict):
        workflow = workflow["prompt"]
    nodes_ok = isinstance(workflow, dict) and all(
        isinstance(node, dict) and "class_type" in node for node in workflow.values()
    )
    if not nodes_ok:
        raise ValueError(f"{path} is not an API-format workflow (node id -> {{class_type, inputs}})")
    return workflow


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    _ctrl_c_cancels()
    servers = args.server or ["http://127.0.0.1:8188"]
    jobs: list[Job] = []
    try:
        for path in args.workflows:
            workflow = load_workflow(path)
            if args.list_keys:
                print(f"{path}: {valid_keys_text(workflow)}", file=out)
                continue
            prepared = apply_settings(workflow, args.settings)
            for _ in range(max(args.jobs, 1)):
                jobs.append(Job(str(len(jobs) + 1), prepared))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=err)
        return 2
    if args.list_keys:
        return 0
    for url in servers:
        try:
            ComfyClient(url, timeout=10).system_stats()
        except (ServerUnreachable, RuntimeError, ValueError) as error:
            print(f"error: {error}", file=err)
            return 2
    dispatcher = Dispatcher(servers, out, err, args.download, args.timeout, args.overwrite)
    try:
        dispatcher.run_all(jobs)
    except KeyboardInterrupt:
        print("Ctrl-C: cancelling", file=out, flush=True)
        dispatcher.cancel()
        dispatcher.wait(timeout=15)  # let the followers see the server confirm the interruption
        return 130
    return exit_code(jobs, out)


def _ctrl_c_cancels() -> None:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt, which cancels the jobs, even when this process was
    started with SIGINT ignored (a job started with ``&`` from a script inherits that)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def exit_code(jobs: Sequence[Job], out: TextIO) -> int:
    outcomes = [job.outcome for job in jobs]
    if any(o == "unreachable" for o in outcomes):
        return 2
    if all(o == "success" for o in outcomes):
        return 0
    if len(jobs) > 1:
        print(f"{outcomes.count('success')} of {len(jobs)} jobs succeeded", file=out)
    return 130 if all(o == "cancelled" for o in outcomes) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # a second Ctrl-C while cancelling
        sys.exit(130)

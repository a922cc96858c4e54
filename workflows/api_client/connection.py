"""A ComfyUI server seen through its public HTTP and websocket API, only as a user's client sees it:
``/prompt``, ``/ws``, ``/history``, ``/view``, ``/interrupt``, ``/queue`` and the info endpoints.

Every answer is read up to a size limit, and a redirect to another server is refused.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import websocket

from .errors import PromptRejected, ResponseTooLarge, ServerError, ServerUnreachable
from .follow import follow_prompt
from .results import PromptRun
from .safe_text import clean

MAX_JSON_BYTES = 64 * 2**20  # /object_info of a large install is ~20 MB
MAX_FILE_BYTES = 512 * 2**20  # one image or file from /view


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
            raise ServerError(clean(f"GET {self.url}{path} answered HTTP {status}: {payload[:300]!r}"))
        try:
            return json.loads(payload)
        except ValueError as error:
            raise ServerError(clean(f"GET {self.url}{path} answered something that is not JSON")) from error

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
            raise ServerError(
                clean(f"GET /view for {subfolder}/{filename} ({folder_type}) answered HTTP {status}")
            )
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
        """Queue ``prompt`` and follow it to its end (``follow.follow_prompt``)."""
        return follow_prompt(self, prompt, on_message, timeout, extra_data, on_queued)


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

"""The HTTP side of ``ComfyClient``: no redirect to another server, no answer larger than its limit."""

from __future__ import annotations

import http.server
import threading

import pytest

from workflows.api_client.connection import ComfyClient
from workflows.api_client.errors import ResponseTooLarge, ServerError


def test_redirects_to_another_server_and_huge_answers_are_refused():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/away"):
                self.send_response(302)
                self.send_header("Location", "http://198.51.100.7/steal")
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"[" + b"0," * 2000 + b"0]")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ComfyClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        with pytest.raises(ServerError, match="HTTP 302"):
            client.get_json("/away")
        with pytest.raises(ResponseTooLarge):
            client._request("GET", "/big", limit=1000)
        assert len(client.get_json("/big")) == 2001
    finally:
        server.shutdown()


def test_an_answer_that_is_not_json_is_a_server_error():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>a proxy's login page</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ComfyClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
        with pytest.raises(ServerError, match="not JSON"):
            client.system_stats()
    finally:
        server.shutdown()

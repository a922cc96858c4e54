"""Server text is printed without the terminal controls a hostile server could put in it."""

from __future__ import annotations

from workflows.api_client.errors import describe_rejection
from workflows.api_client.safe_text import clean


def test_server_text_is_printed_without_terminal_controls():
    hostile = "ok\x1b[2J\x1b]0;owned\x07 then\x08\x00 done\nnext\tline\x9b"
    assert clean(hostile) == "ok then done\nnext\tline"
    assert "\x1b" not in describe_rejection(400, {"error": {"message": "bad\x1b[31m"}, "node_errors": {}})

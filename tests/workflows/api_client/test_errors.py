"""One error base: every error the client raises is a ``ClientError`` that says what happened."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

from devkit.host import free_port
from workflows import api_client
from workflows.api_client import ClientError, ComfyClient, ServerUnreachable


def client_modules() -> list:
    names = [info.name for info in pkgutil.iter_modules(api_client.__path__) if info.name != "__main__"]
    return [importlib.import_module(f"workflows.api_client.{name}") for name in names]


def test_every_error_class_of_the_client_derives_from_client_error():
    errors = {
        value
        for module in client_modules()
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and value.__module__.startswith("workflows.api_client")
    }
    assert len(errors) >= 9  # the base, the server's answers, the prompt's fate, the user's input
    assert sorted(error.__name__ for error in errors if not issubclass(error, ClientError)) == []
    assert set(api_client.__all__) >= {error.__name__ for error in errors}


def test_a_server_that_does_not_answer_is_a_client_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachable, match=re.escape(f"cannot reach ComfyUI at {url}")) as refusal:
        ComfyClient(url, timeout=5).system_stats()
    assert isinstance(refusal.value, ClientError)

"""Caps on text and list inputs, checked before any parsing; the messages never echo the value."""

from __future__ import annotations

import contextlib
import math

import pytest

from identity_core.evaluation.errors import EvaluationError
from identity_core.evaluation.prompts import parse_name_list, parse_prompts, parse_strengths
from identity_core.input_limits import (
    COUNT_CAPS,
    TEXT_CAPS,
    InputLimitError,
    check_captions,
    check_number,
    check_text,
    check_word,
)


def test_a_text_over_its_cap_is_refused_without_echoing_it():
    hostile = "a: x" + " " * 60_000 + "y"
    with pytest.raises(InputLimitError) as refused:
        check_text("prompts", hostile)
    message = str(refused.value)
    assert "60,005 characters" in message and f"{TEXT_CAPS['prompts'].chars:,}" in message
    assert " " * 100 not in message and "Input: prompts" in message and "docs/shared-server.md" in message


@pytest.mark.parametrize("value", [None, 12, 1.5, {"a": 1}, ["x"]])
def test_a_text_input_that_is_not_text_is_refused(value):
    with pytest.raises(InputLimitError, match="not text"):
        check_text("trigger_token", value)


@pytest.mark.parametrize("value", ["zy\nqux", "zy\x00qux", "zy\x1b[31mqux", "zy\x85qux", "z" * 65])
def test_a_word_is_one_plain_line_within_its_cap(value):
    with pytest.raises(InputLimitError):
        check_word("trigger_token", value)
    assert check_word("trigger_token", "zyqüx") == "zyqüx"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "3.5", None, 101.0, -0.5])
def test_a_number_input_must_be_finite_and_in_range(value):
    with pytest.raises(InputLimitError):
        check_number("guidance", value, 0.0, 100.0)
    assert check_number("guidance", 3, 0.0, 100.0) == 3.0


def test_the_pathological_prompt_lines_parse_in_linear_time():
    """Lines the old backtracking pattern took seconds on: a long run of spaces, colons, brackets.
    Within the caps they are parsed (or refused) at once; a line over its cap is refused by count."""
    cap = COUNT_CAPS["prompt line characters"].count
    for line in ("a: x" + " " * (cap - 5) + "y", "a" + " " * (cap - 3) + ":", "[" * cap, ":" * cap):
        with contextlib.suppress(EvaluationError):  # some are refused, none takes time
            parse_prompts(line + "\nportrait: a photo of {token}")
    with pytest.raises(InputLimitError, match="characters, over this server's limit"):
        parse_prompts("a: x" + " " * 600_000 + "y")
    with pytest.raises(InputLimitError, match="prompt lines"):
        parse_prompts("\n".join(f"p{i}: {{token}} {i}" for i in range(40)))


def test_the_linear_parser_keeps_the_line_format():
    specs = parse_prompts(
        "  a [ Style ] :  {token} in oil  \nb:c: {token} d\nno id here {token}\nhttp://x: {token}"
    )
    assert [(s.prompt_id, s.role, s.template) for s in specs] == [
        ("a", "style", "{token} in oil"),
        ("b", "identity", "c: {token} d"),
        ("prompt3", "identity", "no id here {token}"),
        ("http", "identity", "//x: {token}"),
    ]
    with pytest.raises(EvaluationError, match="used twice"):
        parse_prompts("a: {token}\n" * 2)


def test_list_inputs_have_count_caps():
    with pytest.raises(InputLimitError, match="strengths input has 9 values"):
        parse_strengths(", ".join(str(0.1 * i) for i in range(1, 10)))
    with pytest.raises(InputLimitError, match="names 9 LoRA files"):
        parse_name_list("\n".join(f"l{i}.safetensors" for i in range(9)))
    assert parse_name_list("a\na\n# c\nb") == ["a", "b"]


def test_captions_are_capped_per_caption_and_in_count():
    check_captions(["zyqux, a woman"] * 30)
    check_captions(["\n".join(["zyqux, a woman"] * 30)])
    with pytest.raises(InputLimitError, match="1,200 characters long"):
        check_captions(["x" * 1200, "y"])
    with pytest.raises(InputLimitError, match="1,001 captions"):
        check_captions(["\n".join(["c"] * 1001)])
    with pytest.raises(InputLimitError, match="not text"):
        check_captions([{"caption": "x"}])


def test_the_shared_server_page_lists_every_cap_and_owner_setting():
    """docs/shared-server.md is the owner's reference: each cap and setting with its value."""
    from pathlib import Path

    from identity_core.access.settings import DEFAULT_CHECKPOINT_DISK_GB, DEFAULT_MAX_KEPT_CHECKPOINTS
    from identity_core.dataset.caption_files import BACKUP_BYTES, BACKUPS_PER_FOLDER
    from identity_core.input_limits import IDENTITY_LONG_SIDE, WRITTEN_CAPTION_BYTES

    root = Path(__file__).resolve().parents[2]
    page = (root / "docs" / "shared-server.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    for name, cap in TEXT_CAPS.items():
        assert any(f"`{name}`" in row and str(cap.chars) in row for row in rows), name
    for name, cap in COUNT_CAPS.items():
        assert any(str(cap.count) in row for row in rows if name.split()[0] in row or cap.source in row), name
    for figure in (
        f"{IDENTITY_LONG_SIDE} px", f"{WRITTEN_CAPTION_BYTES // 1024} KB",
        f"at most **{BACKUPS_PER_FOLDER}**", f"at most **{BACKUP_BYTES // 2**20} MB**",
    ):  # fmt: skip
        assert figure in page, figure
    example = (root / "identity_lora_server.example.json").read_text(encoding="utf-8")
    for key, default in (
        ("allowed_roots", "none"), ("writable_roots", "none"), ("work_folder", "identity_lora_work"),
        ("ram_check", "`true`"), ("max_processes", "GPUs present"),
        ("max_kept_checkpoints", str(DEFAULT_MAX_KEPT_CHECKPOINTS)),
        ("checkpoint_disk_budget_gb", f"{DEFAULT_CHECKPOINT_DISK_GB:g}"),
    ):  # fmt: skip
        assert any(row.startswith(f"| `{key}` | ") and default in row for row in rows), key
        assert f'"{key}"' in example, key

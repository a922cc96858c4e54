"""The engine's sample prompts: rendered from a template, checked, written as JSON.

An entry is a plain ``str`` (the request's seed, ``SAMPLE_STEPS``) or an
:class:`EngineSamplePrompt` with its own seed and steps (a fixed seed per prompt lets the images
of successive checkpoints be compared).

The prompt file is JSON (one object per prompt), not the engine's text format: in a ``.txt``
prompt file every `` --x`` in the text is read as an option (size, seed, steps, negative prompt,
a control image path), so user text could set any of them. A JSON entry's prompt is only text.
Text that the text format would read as options is still refused, so a prompt means the same
wherever it is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ..errors import BridgeError
from ..model import EngineSamplePrompt

SAMPLE_STEPS = 20
SAMPLE_GUIDANCE = 3.5  # FLUX.1-dev embedded guidance for sample images (training uses 1.0)
FILE_NAME = "sample_prompts.json"
TEMPLATE_FIELDS = ("{token}", "{class_word}")
ENGINE_OPTION = re.compile(r"(^|\s)--\S")
MAX_PROMPT_CHARACTERS = 1000
MAX_SAMPLE_STEPS = 150
MAX_SEED = 2**32 - 1


class SamplePromptError(BridgeError):
    pass


def render_sample_prompt(template: str, token: str, class_word: str) -> str:
    """Replace ``{token}`` and ``{class_word}``; every other character stays literal (no format
    mini-language: ``{x:>9999999999}`` is just text)."""
    text = template.replace(TEMPLATE_FIELDS[0], token).replace(TEMPLATE_FIELDS[1], class_word)
    return " ".join(text.split())


def check_sample_prompt(prompt: str) -> None:
    if not prompt.strip():
        raise SamplePromptError(what="A sample prompt is empty", fix="write a prompt or turn previews off")
    if len(prompt) > MAX_PROMPT_CHARACTERS:
        raise SamplePromptError(
            what=f"A sample prompt is {len(prompt)} characters long",
            fix=f"keep it under {MAX_PROMPT_CHARACTERS} characters",
        )
    if ENGINE_OPTION.search(prompt):
        raise SamplePromptError(
            what=f"The sample prompt {prompt[:80]!r} contains '--' options the engine would read",
            fix="remove the '--' options; size, seed and steps are set by the node",
        )


def check_engine_sample_prompt(entry: str | EngineSamplePrompt) -> None:
    """The text checks of :func:`check_sample_prompt`, and the entry's own seed and steps."""
    check_sample_prompt(prompt_text(entry))
    if not isinstance(entry, EngineSamplePrompt):
        return
    if entry.seed is not None and not 0 <= entry.seed <= MAX_SEED:
        raise SamplePromptError(
            what=f"The sample prompt seed {entry.seed} is out of range",
            fix=f"use a seed from 0 to {MAX_SEED}, or none for the training seed",
        )
    if entry.steps is not None and not 1 <= entry.steps <= MAX_SAMPLE_STEPS:
        raise SamplePromptError(
            what=f"The sample prompt asks for {entry.steps} sampling steps",
            fix=f"use 1 to {MAX_SAMPLE_STEPS} steps, or none for {SAMPLE_STEPS}",
        )


def prompt_text(entry: str | EngineSamplePrompt) -> str:
    return entry.text if isinstance(entry, EngineSamplePrompt) else entry


def resolved_prompt(entry: str | EngineSamplePrompt, seed: int) -> EngineSamplePrompt:
    """The entry with its seed and steps filled in: its own, else ``seed`` and ``SAMPLE_STEPS``."""
    if not isinstance(entry, EngineSamplePrompt):
        return EngineSamplePrompt(entry, seed, SAMPLE_STEPS)
    return EngineSamplePrompt(
        entry.text,
        entry.seed if entry.seed is not None else seed,
        entry.steps if entry.steps is not None else SAMPLE_STEPS,
    )


def sample_prompts_json(prompts: Sequence[str | EngineSamplePrompt], resolution: int, seed: int) -> str:
    """The engine's prompt file: one JSON object per prompt with its size, seed, steps, guidance."""
    entries = []
    for entry in prompts:
        prompt = resolved_prompt(entry, seed)
        entries.append(
            {
                "prompt": " ".join(prompt.text.split()),
                "width": resolution,
                "height": resolution,
                "seed": prompt.seed,
                "sample_steps": prompt.steps,
                "guidance_scale": SAMPLE_GUIDANCE,
            }
        )
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"

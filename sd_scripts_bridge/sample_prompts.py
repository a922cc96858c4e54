"""The engine's sample prompts: rendered from a template, checked, written as JSON.

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

from .errors import BridgeError

SAMPLE_STEPS = 20
SAMPLE_GUIDANCE = 3.5  # FLUX.1-dev embedded guidance for sample images (training uses 1.0)
FILE_NAME = "sample_prompts.json"
TEMPLATE_FIELDS = ("{token}", "{class_word}")
ENGINE_OPTION = re.compile(r"(^|\s)--\S")
MAX_PROMPT_CHARACTERS = 1000


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


def sample_prompts_json(prompts: Sequence[str], resolution: int, seed: int) -> str:
    """The engine's prompt file: one JSON object per prompt with its size, seed, steps, guidance."""
    entries = [
        {
            "prompt": " ".join(prompt.split()),
            "width": resolution,
            "height": resolution,
            "seed": seed,
            "sample_steps": SAMPLE_STEPS,
            "guidance_scale": SAMPLE_GUIDANCE,
        }
        for prompt in prompts
    ]
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"

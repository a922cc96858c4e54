"""The fixed prompt set of the evaluation protocol (design document, section 7).

Four prompts carry the trigger token (neutral portrait, new environment, new outfit, new
style) and one control prompt leaves it out: if the person shows up there, the LoRA
bleeds its identity onto everyone of that class. Templates use ``{token}`` and
``{class_word}``; a line without ``{token}`` is a control prompt.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import EvaluationError

TOKEN_FIELD = "{token}"
CLASS_FIELD = "{class_word}"

DEFAULT_PROMPTS_TEXT = "\n".join(
    [
        "portrait: a photo of {token} {class_word}, neutral studio portrait, looking at the camera, "
        "soft even light",
        "environment: a photo of {token} {class_word} walking through a busy market street at dusk",
        "outfit: a photo of {token} {class_word} wearing a dark blue suit and a red tie",
        "style: an oil painting of {token} {class_word}, impressionist brush strokes",
        "control: a photo of a {class_word}, neutral studio portrait, looking at the camera, soft even light",
    ]
)
DEFAULT_STRENGTHS_TEXT = "0.5, 0.8, 1.0, 1.2"

_LINE_WITH_ID = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*:\s*(.+?)\s*$")


@dataclass(frozen=True)
class PromptSpec:
    prompt_id: str
    template: str

    @property
    def is_control(self) -> bool:
        return TOKEN_FIELD not in self.template

    def render(self, trigger_token: str, class_word: str) -> str:
        """Fill the fields with plain replacement (other braces in the text stay as they are)."""
        text = self.template.replace(TOKEN_FIELD, trigger_token).replace(CLASS_FIELD, class_word)
        return " ".join(text.split())


def parse_prompts(text: str) -> list[PromptSpec]:
    """One prompt per line, ``id: template`` (the id is optional); ``#`` starts a comment line."""
    specs: list[PromptSpec] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE_WITH_ID.match(line)
        if match:
            prompt_id, template = match.group(1), match.group(2)
        else:
            prompt_id, template = f"prompt{len(specs) + 1}", line.strip()
        if any(spec.prompt_id == prompt_id for spec in specs):
            raise EvaluationError(
                f"The prompt id '{prompt_id}' is used twice",
                "give every prompt line its own id ('id: prompt text')",
                "prompts",
            )
        specs.append(PromptSpec(prompt_id, template))
    if not specs:
        raise EvaluationError("The prompt list is empty", "enter one prompt per line", "prompts")
    if all(spec.is_control for spec in specs):
        raise EvaluationError(
            "No prompt contains {token}, so the LoRA's trigger token is never used",
            "write {token} where the trigger token goes, e.g. 'portrait: a photo of {token} {class_word}'",
            "prompts",
        )
    return specs


def parse_strengths(text: str) -> list[float]:
    """``"0.5, 0.8, 1.0, 1.2"`` -> sorted unique floats (commas, semicolons or spaces)."""
    values: set[float] = set()
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise EvaluationError(
                f"'{part}' is not a number", "list strengths like '0.5, 0.8, 1.0, 1.2'", "strengths"
            ) from None
        if not math.isfinite(value) or abs(value) > 10:
            raise EvaluationError(
                f"The strength {part} is out of range", "use strengths between -10 and 10", "strengths"
            )
        values.add(round(value, 4))
    if not values:
        raise EvaluationError("No strengths given", "list strengths like '0.5, 0.8, 1.0, 1.2'", "strengths")
    return sorted(values)


def parse_name_list(text: str) -> list[str]:
    """Names one per line; blank lines and ``#`` comments are skipped, repeats dropped."""
    names: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if name and not name.startswith("#") and name not in names:
            names.append(name)
    return names

"""Caption style rules (docs/profiles.md, "Captions and the trigger token") and the identity-trait lint.

- verbose captions: CLIP reads 75 tokens, the rest is cut off;
- identical phrasing: hand-written captions (from files, edited, or from a captioning node)
  that say the same thing teach the LoRA that the photos share more than the face. Template
  captions are not judged by this rule: they say only what DatasetCheck measured (framing,
  view, light, background), so two photos the measures cannot tell apart get the same words,
  and inventing different words for them would describe nothing. The report counts them and
  says how to add the words the measures cannot give;
- negative phrasing: text encoders ignore "no" and learn the word after it;
- identity traits: what the person always has (hair, eye or skin colour, face shape, tattoos)
  must not be captioned; captioned, those traits bind to the words instead of the token
  (caption advice of trainers' maintainers, project notes identity_metrics.md).
"""

from __future__ import annotations

import re
from collections import defaultdict

from .model import CAPTION_TEMPLATE, PASS, WARN, DatasetItem, Finding
from .tokens import CLIP_CONTEXT_TOKENS, Tokenizers

NEGATIVE = re.compile(r"\b(no|not|without|never|none|nobody|don't|doesn't|isn't|aren't|can't|won't)\b", re.I)
_COLOURS = (
    r"black|brown|blonde?|red|auburn|ginger|grey|gray|white|silver|golden|platinum|dark|light|"
    r"pink|blue|green|purple|hazel|amber|pale|fair|olive|tan(?:ned)?|porcelain|ebony"
)
IDENTITY_TRAITS = re.compile(
    r"\b(?:"
    rf"(?:{_COLOURS})[- ](?:hair(?:ed)?|eyes?|eyed|skin(?:ned)?|complexion)"
    r"|blonde?|brunette|redhead(?:ed)?|bald(?:ing)?|freckle[sd]?"
    r"|(?:round|oval|square|long|heart[- ]shaped|diamond[- ]shaped|angular|narrow|wide|chubby)[- ]"
    r"(?:face|faced|jaw|jawline|chin)"
    r"|(?:high|prominent|sharp) cheekbones|(?:strong|square|chiseled|chiselled) jaw(?:line)?"
    r"|tattoo(?:s|ed)?|birthmarks?|moles?"
    r")\b",
    re.I,
)


def style_findings(items: tuple[DatasetItem, ...], token: str, tokenizers: Tokenizers) -> list[Finding]:
    return [
        _verbose(items, tokenizers),
        *_phrasing(items, token),
        *_negative(items),
        *_identity_traits(items),
    ]


def _verbose(items, tokenizers: Tokenizers) -> Finding:
    counts = {item.image_path.name: tokenizers.clip_count(item.caption or "") for item in items}
    verbose = [name for name, count in counts.items() if count > CLIP_CONTEXT_TOKENS]
    longest = max(counts.values(), default=0)
    threshold = f"<= {CLIP_CONTEXT_TOKENS} CLIP tokens"
    if not verbose:
        return Finding(
            check="verbose",
            severity=PASS,
            measured=longest,
            threshold=threshold,
            message="Caption lengths are fine.",
        )
    return Finding(
        check="verbose",
        severity=WARN,
        measured=longest,
        threshold=threshold,
        message=f"Captions longer than CLIP reads (the rest is cut off): {', '.join(verbose)}.",
        fix="Shorten them to the token, the class and a few words about setting, outfit and framing.",
        files=tuple(verbose),
    )


def _wording(caption: str, token: str) -> str:
    return re.sub(r"\W+", " ", caption.lower().replace(token.lower(), "")).strip()


def _phrasing(items, token: str) -> list[Finding]:
    written = [item for item in items if item.caption_source != CAPTION_TEMPLATE]
    phrasing: dict[str, list[str]] = defaultdict(list)
    for item in written:
        phrasing[_wording(item.caption or "", token)].append(item.image_path.name)
    repeated = [names for names in phrasing.values() if len(names) > 1]
    findings = []
    if repeated:
        listed = "; ".join(", ".join(names) for names in repeated)
        findings.append(
            Finding(
                check="identical_phrasing",
                severity=WARN,
                measured=sum(len(n) for n in repeated),
                threshold="every written caption worded differently",
                message=f"Identically worded captions: {listed}.",
                fix="Describe what differs in each photo (place, outfit, light, framing) so only the face is "
                "shared.",
                files=tuple(n for names in repeated for n in names),
            )
        )
    templates = [item for item in items if item.caption_source == CAPTION_TEMPLATE]
    if templates:
        distinct = len({_wording(item.caption or "", token) for item in templates})
        findings.append(
            Finding(
                check="template_captions",
                severity=PASS,
                measured={"template": len(templates), "distinct": distinct},
                threshold="template captions say only what DatasetCheck measured; the identical-phrasing "
                "rule is for written captions",
                message=f"{len(templates)} template captions, {distinct} distinct: they name the measured "
                "framing, view, light and background. Photos the measures cannot tell apart share words; add "
                "the place and the outfit yourself, or connect a captioning node's captions.",
            )
        )
    return findings


def _negative(items) -> list[Finding]:
    negative = [item.image_path.name for item in items if NEGATIVE.search(item.caption or "")]
    if not negative:
        return []
    return [
        Finding(
            check="negative_phrasing",
            severity=WARN,
            measured=len(negative),
            threshold="no negations",
            message=f"Captions with negations ('no', 'not', 'without'...): {', '.join(negative)}.",
            fix="Say what is there instead; text encoders often ignore 'no' and learn the word after it.",
            files=tuple(negative),
        )
    ]


def _identity_traits(items) -> list[Finding]:
    found = {
        item.image_path.name: sorted(
            {m.group(0).lower() for m in IDENTITY_TRAITS.finditer(item.caption or "")}
        )
        for item in items
    }
    found = {name: words for name, words in found.items() if words}
    if not found:
        return []
    listed = "; ".join(f"{name}: {', '.join(words)}" for name, words in found.items())
    return [
        Finding(
            check="identity_traits",
            severity=WARN,
            measured=len(found),
            threshold="no invariant traits of the person in subject captions",
            message=f"Captions name traits the person always has ({listed}); captioned, those traits bind to "
            "the words instead of the trigger token, so the token alone would not bring them back.",
            fix="Remove hair, eye and skin colour, face shape and tattoos from the captions; keep what "
            "changes between photos (clothes, place, light, expression).",
            files=tuple(found),
        )
    ]

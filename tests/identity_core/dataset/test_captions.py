"""Caption rules and token uniqueness with the real tokenizers ComfyUI ships in its source tree."""

from pathlib import Path

import numpy as np
import pytest

from devkit.host import comfyui_dir
from devkit.photos import folder_snapshot, write_image
from identity_core.dataset.captions import (
    MODE_ENFORCE,
    MODE_TEMPLATE,
    apply_caption_rules,
    clean_caption,
    template_caption,
)
from identity_core.dataset.model import CAPTION_EDITED, CAPTION_FILE, CAPTION_TEMPLATE, Dataset, DatasetItem
from identity_core.dataset.tokens import TokenizerError, load_tokenizers, token_uniqueness
from identity_core.errors import IdentityError


@pytest.fixture(scope="module")
def tokenizers():
    return load_tokenizers(comfyui_dir())


def _dataset(folder: Path, captions: dict[str, bytes | None], regularization=None) -> Dataset:
    items = []
    for index, (name, raw) in enumerate(captions.items()):
        image = write_image(np.full((8, 8, 3), index, np.uint8), folder / f"{name}.png")
        caption_path, caption = None, None
        if raw is not None:
            caption_path = folder / f"{name}.txt"
            caption_path.write_bytes(raw)
            caption = raw.decode("utf-8", errors="replace")
        items.append(DatasetItem(image, caption, CAPTION_FILE if raw is not None else "none", caption_path))
    return Dataset(folder=folder, items=tuple(items), regularization=regularization)


def _finding(result, check):
    return next(f for f in result.findings if f.check == check)


def test_rare_token_is_unique(tokenizers):
    verdict = token_uniqueness("zxqv", tokenizers)
    assert verdict.is_unique
    assert len(verdict.clip_pieces) > 1 and len(verdict.t5_pieces) > 1


@pytest.mark.parametrize("word", ["man", "emma", "ohwx", "johndoe"])
def test_existing_words_are_ambiguous_with_alternatives(tokenizers, word):
    verdict = token_uniqueness(word, tokenizers)
    assert not verdict.is_unique
    assert len(verdict.alternatives) == 3
    for alternative in verdict.alternatives:
        assert token_uniqueness(alternative, tokenizers).is_unique


def test_missing_tokenizer_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TokenizerError, match="sd1_tokenizer"):
        load_tokenizers(tmp_path)


def test_enforce_mode_keeps_text_adds_token_and_templates_missing(tmp_path, tokenizers):
    dataset = _dataset(
        tmp_path,
        {"a": b"zxqv, a woman at the beach", "b": b"a woman in a red coat, city street", "c": None},
    )
    before = folder_snapshot(tmp_path)
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers)
    items = {item.image_path.stem: item for item in result.dataset.items}
    assert (items["a"].caption, items["a"].caption_source) == ("zxqv, a woman at the beach", CAPTION_FILE)
    assert (items["b"].caption, items["b"].caption_source) == (
        "zxqv, a woman in a red coat, city street",
        CAPTION_EDITED,
    )
    assert (items["c"].caption, items["c"].caption_source) == ("zxqv, a woman", CAPTION_TEMPLATE)
    assert result.dataset.trigger_token == "zxqv" and result.dataset.token_uniqueness.is_unique
    assert folder_snapshot(tmp_path) == before
    assert "untouched" in result.text_report()


def test_template_mode_uses_measured_framing_view_light_and_background(tmp_path, tokenizers):
    dataset = _dataset(tmp_path, {"a": b"whatever", "b": None})
    note = {
        "framing": "portrait",
        "pose": "profile",
        "light": "dim light, warm tones",
        "background": "dark background",
    }
    dataset = dataset.replace(extra={"image_notes": {"a.png": note}})
    result = apply_caption_rules(dataset, "zxqv", "man", MODE_TEMPLATE, tokenizers)
    assert result.dataset.captions == (
        "zxqv, a man, close-up portrait, profile view, dim light, warm tones, dark background",
        "zxqv, a man",
    )
    assert template_caption("tok", "elderly woman") == "tok, an elderly woman"
    assert template_caption("tok", "man", {"framing": "full body", "pose": "front", "light": ""}) == (
        "tok, a man, full body"
    )


def test_repeated_template_captions_are_not_judged_as_identical_phrasing(tmp_path, tokenizers):
    dataset = _dataset(tmp_path, {f"p{i}": None for i in range(6)})
    notes = {f"p{i}.png": {"framing": "portrait", "pose": "front"} for i in range(6)}
    result = apply_caption_rules(
        dataset.replace(extra={"image_notes": notes}), "zxqv", "man", MODE_ENFORCE, tokenizers
    )
    assert len(set(result.dataset.captions)) == 1
    assert not [f for f in result.findings if f.check == "identical_phrasing"]
    template = _finding(result, "template_captions")
    assert template.severity == "pass" and template.measured == {"template": 6, "distinct": 1}
    assert result.verdict == "pass"


def test_invariant_traits_in_subject_captions_are_flagged(tmp_path, tokenizers):
    dataset = _dataset(
        tmp_path,
        {
            "a": b"zxqv, a woman with blue eyes and blonde hair, at the beach",
            "b": b"zxqv, a woman, round face, tattoos",
            "c": b"zxqv, a woman in a dark blue coat, white background",
            "d": b"zxqv, a redhead in a red dress",
        },
    )
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers)
    traits = _finding(result, "identity_traits")
    assert traits.severity == "warn" and traits.files == ("a.png", "b.png", "d.png")
    assert (
        "a.png: blonde hair, blue eyes" in traits.message and "b.png: round face, tattoos" in traits.message
    )
    assert "bind to the words instead of the trigger token" in traits.message
    assert result.dataset.extra["caption_findings"] == (traits,)


def test_connected_captions_replace_the_files_one_per_image(tmp_path, tokenizers):
    dataset = _dataset(tmp_path, {"a": b"zxqv, a woman at the beach", "b": None, "c": None})
    listed = ["a woman in a park", "zxqv, a woman on a bus", ""]
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers, connected=listed)
    assert result.dataset.captions == ("zxqv, a woman in a park", "zxqv, a woman on a bus", "zxqv, a woman")
    assert [i.caption_source for i in result.dataset.items] == ["graph", "graph", "template"]
    text = "a woman in a park\n\nzxqv, a woman on a bus\na woman at a desk\n"
    lines = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers, connected=[text])
    assert lines.dataset.captions[2] == "zxqv, a woman at a desk"


def test_connected_captions_are_judged_like_written_ones(tmp_path, tokenizers):
    dataset = _dataset(tmp_path, {"a": None, "b": None})
    same = ["a man with brown hair", "a man with brown hair"]
    result = apply_caption_rules(dataset, "zxqv", "man", MODE_ENFORCE, tokenizers, connected=same)
    assert set(_finding(result, "identical_phrasing").files) == {"a.png", "b.png"}
    assert _finding(result, "identity_traits").files == ("a.png", "b.png")


@pytest.mark.parametrize(
    ("connected", "mode", "fragment"),
    [
        (["one", "two"], MODE_ENFORCE, "2 captions for 3 subject images"),
        (["one\ntwo"], MODE_ENFORCE, "one text with 2 caption lines for 3 subject images"),
        (["a", "b", "c"], MODE_TEMPLATE, "would replace them"),
    ],
)
def test_connected_captions_that_cannot_fit_are_refused(tmp_path, tokenizers, connected, mode, fragment):
    dataset = _dataset(tmp_path, {"a": None, "b": None, "c": None})
    with pytest.raises(IdentityError) as caught:
        apply_caption_rules(dataset, "zxqv", "man", mode, tokenizers, connected=connected)
    assert fragment in str(caught.value) and "What to do" in str(caught.value)


def test_verbose_identical_and_negative_captions_are_flagged(tmp_path, tokenizers):
    long_caption = ("zxqv, a woman " + "with a very detailed description of the scene " * 12).encode()
    dataset = _dataset(
        tmp_path,
        {"long": long_caption, "same1": b"zxqv, a woman outdoors", "same2": b"zxqv, a woman outdoors",
         "neg": b"zxqv, a woman without glasses, no hat"},
    )  # fmt: skip
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers)
    verbose = _finding(result, "verbose")
    assert verbose.severity == "warn" and verbose.files == ("long.png",) and verbose.measured > 75
    assert set(_finding(result, "identical_phrasing").files) == {"same1.png", "same2.png"}
    assert _finding(result, "negative_phrasing").files == ("neg.png",)


def test_breaking_characters_and_wrong_encoding_are_named(tmp_path, tokenizers):
    dataset = _dataset(
        tmp_path,
        {"bom": "\ufeffzxqv, a woman".encode(), "lines": b"zxqv, a woman\nsecond line",
         "wild": b"zxqv, a {red|blue} coat", "latin": "zxqv, a woman, café".encode("cp1252")},
    )  # fmt: skip
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers)
    messages = " ".join(f.message for f in result.findings if f.check == "caption_characters")
    assert "byte-order mark" in messages and "bom.txt" in messages
    assert "several lines" in messages and "lines.txt" in messages
    assert "wild.txt" in messages
    assert _finding(result, "caption_encoding").files == ("latin.txt",)
    captions = {item.image_path.stem: item.caption for item in result.dataset.items}
    assert captions["bom"] == "zxqv, a woman"
    assert captions["lines"] == "zxqv, a woman, second line"


def test_regularization_captions_never_carry_the_token(tmp_path, tokenizers):
    regularization = _dataset(tmp_path / "reg", {"r1": None, "r2": b"zxqv, a woman in a park"})
    dataset = _dataset(tmp_path / "subject", {"a": None}, regularization)
    result = apply_caption_rules(dataset, "zxqv", "woman", MODE_ENFORCE, tokenizers)
    assert result.dataset.regularization.captions == ("a woman", "a woman in a park")
    assert _finding(result, "regularization_token").files == ("r2.png",)


def test_ambiguous_token_is_a_warning_with_alternatives(tmp_path, tokenizers):
    result = apply_caption_rules(_dataset(tmp_path, {"a": None}), "emma", "woman", MODE_ENFORCE, tokenizers)
    finding = _finding(result, "token_uniqueness")
    assert finding.severity == "warn" and "e.g." in finding.fix
    assert result.dataset.token_uniqueness.is_unique is False


def test_clean_caption():
    assert clean_caption("\ufeff  a\u200b b \n\n c\x07 ") == "a b, c"

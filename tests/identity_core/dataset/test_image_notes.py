"""Words for measured light and background, and template captions for a whole uncaptioned set."""

import numpy as np

from devkit.host import comfyui_dir
from devkit.photos import (
    brightened,
    grace_hopper,
    on_canvas,
    resized,
    subject_variants,
    tinted,
    write_image,
)
from identity_core.dataset.captions import MODE_ENFORCE, apply_caption_rules
from identity_core.dataset.check import check_dataset
from identity_core.dataset.image_notes import background_words, light_words
from identity_core.dataset.measures import measure_image
from identity_core.dataset.tokens import load_tokenizers
from tests.fixtures.shared_faces import require_shared_faces, shared_photo


def _words(backend, image):
    measures = measure_image(image, backend.analyze(image))
    return light_words(measures) + background_words(measures)


def test_measured_light_and_background_on_registry_photos(dlib_backend):
    grace = resized(grace_hopper(), 0.6)
    assert _words(dlib_backend, on_canvas(grace, (700, 700), (245, 245, 245))) == [
        "bright light",
        "light background",
    ]
    assert _words(dlib_backend, on_canvas(grace, (700, 700), (12, 12, 12))) == [
        "dim light",
        "dark background",
    ]
    warm = _words(dlib_backend, on_canvas(tinted(grace, (1.25, 1.0, 0.7)), (700, 700), (200, 150, 90)))
    assert "warm tones" in warm
    assert "dim light" in _words(dlib_backend, brightened(grace_hopper(), 0.5))


def test_measured_light_and_background_match_the_shared_photos_labels(dlib_backend):
    require_shared_faces()
    # labelled by eye in the shared README: "white bg, high key" and "dark bg, warm light"
    assert _words(dlib_backend, shared_photo("cc0avatar_047/frontal_1.jpg")) == [
        "bright light",
        "light background",
    ]
    assert _words(dlib_backend, shared_photo("cc0avatar_014/frontal_1.jpg")) == [
        "dim light",
        "warm tones",
        "dark background",
    ]


def test_an_uncaptioned_set_of_20_gets_template_captions_without_the_identical_phrasing_finding(
    dlib_backend, tmp_path
):
    for index, image in enumerate(subject_variants(grace_hopper(), 20, canvas=640)):
        write_image(image, tmp_path / f"p{index:02d}.jpg", quality=90)
    dataset = check_dataset(tmp_path, dlib_backend).dataset
    result = apply_caption_rules(dataset, "zyqux", "woman", MODE_ENFORCE, load_tokenizers(comfyui_dir()))
    captions = result.dataset.captions
    assert len(captions) == 20 and all(c.startswith("zyqux, a woman") for c in captions)
    assert not [f for f in result.findings if f.check == "identical_phrasing"]
    assert next(f for f in result.findings if f.check == "template_captions").measured["template"] == 20
    assert any(", dark background" in c or ", light background" in c or "tones" in c for c in captions)
    assert np.all([item.caption_source == "template" for item in result.dataset.items])

"""Words for what DatasetCheck measured in one photo, for CaptionTokenizer's template captions.

Only what the existing measures can tell is described: framing (face height / image height),
head pose, light (mean L*, warmth b*, the face's left-right light difference) and how dark or
light the background is (the HSV histogram outside the person). Indoors or outdoors, the
place, the outfit and the expression are not measured, so template captions never claim them:
write them yourself or connect a captioning node to CaptionTokenizer.

Thresholds, measured with ``measures.py`` on the project's shared real photos (whose README
labels each scene by eye): the photo labelled "white bg, high key" has mean L* 85 and 92% of
its background in the brightest quarter of HSV value; "dark bg, warm light" has L* 25, b* +15
and 93% of its background in the darkest quarter; photos lit from one side (|left-right L*|
17-22) stand apart from evenly lit ones (0-10).
"""

from __future__ import annotations

import numpy as np

from .measures import ImageMeasures

DIM_LIGHTNESS = 30.0  # mean L* below: "dim light"
BRIGHT_LIGHTNESS = 70.0  # mean L* at or above: "bright light"
WARM_B = 12.0  # mean b* at or above: "warm tones"
COOL_B = -8.0  # mean b* at or below: "cool tones"
SIDE_LIGHT = 15.0  # |left - right L*| of the aligned face at or above: "side light"
BACKGROUND_SHARE = 0.6  # share of background pixels in the darkest / brightest value quarter
HISTOGRAM_SHAPE = (12, 4, 4)  # hue, saturation, value bins of measures.background


def light_words(measures: ImageMeasures) -> list[str]:
    words = []
    if measures.light_mean < DIM_LIGHTNESS:
        words.append("dim light")
    elif measures.light_mean >= BRIGHT_LIGHTNESS:
        words.append("bright light")
    if measures.face_side_light is not None and abs(measures.face_side_light) >= SIDE_LIGHT:
        words.append("side light")
    if measures.warmth >= WARM_B:
        words.append("warm tones")
    elif measures.warmth <= COOL_B:
        words.append("cool tones")
    return words


def background_words(measures: ImageMeasures) -> list[str]:
    if measures.background is None:
        return []
    value = np.asarray(measures.background).reshape(HISTOGRAM_SHAPE).sum(axis=(0, 1))
    if value[0] >= BACKGROUND_SHARE:
        return ["dark background"]
    if value[-1] >= BACKGROUND_SHARE:
        return ["light background"]
    return []

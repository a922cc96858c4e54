"""DatasetCheck thresholds, defaults from docs/profiles.md ("Dataset rules") and our measurements."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import IdentityError

# Bucket ranges of the two training profiles (docs/profiles.md, "Fast and Final").
PROFILE_RESOLUTION = {"fast": (512, 256, 768), "final": (768, 384, 1024)}  # base, min bucket, max bucket


@dataclass(frozen=True)
class Thresholds:
    min_images: int = 15  # fewer is a failure
    max_images: int = 30  # more is a warning
    profile: str = "final"  # whose bucket range the resolution check uses
    max_no_face_share: float = 0.2  # images without a usable face above this share: failure
    # ... when the detector sees full profiles; with one that sees three-quarter views but not full
    # profiles, only above this share (the angle mix of the dataset rules is mostly front and
    # three-quarter, so more than half without a face is not a detector's blind spot).
    max_no_face_share_any_detector: float = 0.5
    front_max_yaw: float = 20.0
    profile_min_yaw: float = 55.0
    min_pose_share: float = 0.1  # each pose class should hold at least this share
    portrait_min_face_ratio: float = 0.25  # face height / image height: portrait above
    full_body_max_face_ratio: float = 0.10  # full body below; mid shot between
    min_non_portrait_share: float = 0.2  # mid/full body shots should be at least this share
    min_light_spread: float = 6.0  # SD of mean L* across images (0..100 scale)
    min_warmth_spread: float = 3.0  # SD of mean b*
    min_side_light_spread: float = 4.0  # SD of the face's left-right L* difference
    same_background_distance: float = 0.35  # Bhattacharyya distance below which backgrounds match
    max_background_share: float = 0.4  # one background in more than this share: dominance
    min_environments: int = 3
    duplicate_phash_distance: int = 8  # Hamming distance at or below: near-duplicate
    min_sharpness: float = 100.0  # variance of Laplacian at long side 512
    face_sharpness_ratio: float = 0.3  # face sharper than this x dataset median
    min_regularization: int = 20
    max_regularization: int = 50

    @property
    def resolution(self) -> tuple[int, int, int]:
        if self.profile not in PROFILE_RESOLUTION:
            raise IdentityError(
                f"Unknown profile {self.profile!r}", f"use one of {', '.join(PROFILE_RESOLUTION)}", "profile"
            )
        return PROFILE_RESOLUTION[self.profile]

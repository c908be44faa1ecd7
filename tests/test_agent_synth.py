"""The synthetic camera-photo generator of bench/synth_labels.py (the decoder benchmark's set)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from synth_labels import FRAME, PER_LEVEL, sample  # noqa: E402

from scanner_agent.decode import decode_frame  # noqa: E402

#: A few Code 128 labels and one receipt QR of the easiest level.
EASY = [0, 1, PER_LEVEL[0] - 1, PER_LEVEL[0]]


def test_the_generator_returns_the_same_pixels_for_the_same_sample() -> None:
    first, again, other = sample(3, 5), sample(3, 5), sample(3, 6)
    assert first.image.shape == (FRAME[1], FRAME[0])
    assert np.array_equal(first.image, again.image)
    assert first.truth == again.truth
    assert not np.array_equal(first.image, other.image)


def test_easiest_level_photos_decode_to_their_truth() -> None:
    kinds = set()
    for index in EASY:
        s = sample(1, index)
        kinds.add(s.kind)
        assert [d.text for d in decode_frame(s.image)] == [s.truth], f"L1-{index}"
    assert kinds == {"code128", "qr"}

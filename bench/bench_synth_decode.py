"""Benchmark: decoders on the held-out synthetic camera photos of our own labels.

The set is ``bench/synth_labels.py`` (4 levels × 100 photos at 1280×720: 75 Code 128 thermal
labels and 25 receipt lookup QR codes a level; deterministic). In one run, on the same frames:

- zxing-cpp alone (``TextMode.Plain``; its own ``try_rotate`` covers 90° turns);
- pyzbar alone;
- the two-decoder chain: zxing-cpp with rotation rescue (the frame, then turned by 15°, 30°,
  45°, 60°, 75°), then pyzbar with the same rotation rescue;
- the agent chain (``scanner_agent.decode.decode_frame``, the whole chain);
- the agent chain as the camera runs it (80 ms per-frame deadline at 10 Hz), whose frames per
  second are the target's.

Per decoder and level: frames whose truth was read ("decoded"), frames with a decoded text that
is not the truth ("wrong"), and mean time per frame.

Run: ``.venv/bin/python bench/bench_synth_decode.py`` (``--per-level N`` for a quicker subset).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zxingcpp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth_labels import LEVELS, generate  # noqa: E402

from scanner_agent import decode as chain  # noqa: E402

CAMERA_BUDGET = 0.08
Decoder = Callable[[Any], list[str]]


def zxing_alone(gray: Any) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain)]


def pyzbar_alone(gray: Any) -> list[str]:
    return [d.text for d in chain.read_pyzbar(gray)]


def with_rotation_rescue(decode: Decoder) -> Decoder:
    def rescued(gray: Any) -> list[str]:
        found = decode(gray)
        for angle in chain.ROTATION_ANGLES:
            if found:
                break
            found = decode(chain.rotate_image(gray, angle))
        return found

    return rescued


_zxing_rescued = with_rotation_rescue(zxing_alone)
_pyzbar_rescued = with_rotation_rescue(pyzbar_alone)


def two_decoder_chain(gray: Any) -> list[str]:
    return _zxing_rescued(gray) or _pyzbar_rescued(gray)


def agent_chain(gray: Any) -> list[str]:
    return [d.text for d in chain.decode_frame(gray)]


def agent_camera(gray: Any) -> list[str]:
    return [d.text for d in chain.decode_frame(gray, deadline=time.monotonic() + CAMERA_BUDGET)]


DECODERS: dict[str, Decoder] = {
    "zxing-cpp": zxing_alone,
    "pyzbar": pyzbar_alone,
    "zxing-cpp+rot, then pyzbar+rot": two_decoder_chain,
    "agent chain": agent_chain,
    "agent chain, camera mode": agent_camera,
}
#: The single decoders and the two-decoder chain the agent chain must beat.
RIVALS = ("zxing-cpp", "pyzbar", "zxing-cpp+rot, then pyzbar+rot")


def run(per_level: int | None) -> tuple[dict[str, dict[int, dict[str, Any]]], list[str]]:
    samples = list(generate(LEVELS, per_level))
    # Warm-up: imports, OpenCV detector and the camera mode's stage costs at 1280×720.
    for s in samples[:3]:
        chain.decode_frame(s.image)
    stats: dict[str, dict[int, dict[str, Any]]] = {
        name: {lv: {"ok": 0, "n": 0, "wrong": 0, "times": []} for lv in LEVELS} for name in DECODERS
    }
    wrongs: list[str] = []
    for s in samples:
        for name, decode in DECODERS.items():
            started = time.perf_counter()
            found = decode(s.image)
            elapsed = time.perf_counter() - started
            row = stats[name][s.level]
            row["n"] += 1
            row["ok"] += s.truth in found
            bad = [t for t in found if t != s.truth]
            row["wrong"] += bool(bad)
            row["times"].append(elapsed)
            if bad:
                wrongs.append(f"[{name}] L{s.level}-{s.index:03d} {s.kind}: {bad[0][:50]!r}")
    return stats, wrongs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-level", type=int, default=None)
    args = parser.parse_args()
    stats, wrongs = run(args.per_level)
    n = {lv: stats["agent chain"][lv]["n"] for lv in LEVELS}
    print(f"synthetic photos (bench/synth_labels.py), 1280×720: {sum(n.values())} frames, "
          f"{', '.join(f'L{lv} {n[lv]}' for lv in LEVELS)}")  # fmt: skip
    head = "".join(f" {'L' + str(lv):>8}" for lv in LEVELS)
    print(f"\n{'decoder':32}{head} {'total':>9} {'wrong':>6} {'ms/frame':>9} {'frames/s':>9}")
    totals: dict[str, int] = {}
    for name, levels in stats.items():
        ok = sum(levels[lv]["ok"] for lv in LEVELS)
        wrong = sum(levels[lv]["wrong"] for lv in LEVELS)
        times = [t for lv in LEVELS for t in levels[lv]["times"]]
        totals[name] = ok if wrong == 0 else -1
        cells = "".join(f" {levels[lv]['ok']:>3}/{levels[lv]['n']:<4}" for lv in LEVELS)
        mean = statistics.mean(times)
        print(f"{name:32}{cells} {ok:>4}/{sum(n.values()):<4} {wrong:>6} {1000 * mean:>9.1f} "
              f"{1 / mean:>9.1f}")  # fmt: skip
    for w in wrongs[:20]:
        print(f"  wrong {w}")
    best = max(RIVALS, key=lambda r: sum(stats[r][lv]["ok"] for lv in LEVELS))
    best_ok = sum(stats[best][lv]["ok"] for lv in LEVELS)
    agent = stats["agent chain"]
    camera = stats["agent chain, camera mode"]
    agent_ok = sum(agent[lv]["ok"] for lv in LEVELS)
    agent_wrong = sum(agent[lv]["wrong"] + camera[lv]["wrong"] for lv in LEVELS)
    camera_fps = 1 / statistics.mean([t for lv in LEVELS for t in camera[lv]["times"]])
    met = agent_ok > best_ok and agent_wrong == 0 and camera_fps >= 10
    print(f"\nbest rival: {best} ({best_ok}); agent chain {agent_ok}, wrong reads "
          f"{agent_wrong}; camera mode {camera_fps:.1f} frames/s at 1280×720; "
          f"target (beat the best with zero wrong reads, >= 10 frames/s): "
          f"{'MET' if met else 'NOT MET'}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark: the scanner agent's decoder chain against single decoders.

1. The shared corpus (``../shared/bench/barcodes``: 287 images with an expected text, plus the
   two zxing-cpp false-positive sets): images decoded, wrong reads, false positives, ms/image,
   for zxing-cpp, pyzbar, OpenCV's ``cv2.barcode``, OpenCV's ``QRCodeDetector``, zxing-cpp
   then OpenCV QR, and the agent's chain.
2. A Code 128 thermal label printed by ``labels/`` (rasterized), on a 1280×720 desk, tilted
   0–90° in 5° steps, clean and degraded (blur, noise, smaller).
3. Frames per second of the chain at 640×480 and 1280×720 (empty desk, label straight, label
   tilted 30°), without and with the camera's per-frame deadline (10 Hz).

The baseline for the ratios is zxing-cpp alone, measured in the same run.

Run: ``.venv/bin/python bench/bench_agent_decode.py`` (``--quick`` skips the degraded tilts).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zxingcpp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from agent_support import CORPUS, iter_corpus, label_image, scene  # noqa: E402

from scanner_agent import decode as chain  # noqa: E402

SETS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and p.name.startswith("zxing-"))
FALSE_POSITIVE_SETS = ["zxingcpp-falsepositives-1", "zxingcpp-falsepositives-2"]
CODE = "261122000123"
#: The camera source's per-frame deadline at 10 Hz (0.8 of the period).
CAMERA_BUDGET = 0.08

Decoder = Callable[[Any], list[str]]


def zxing_default(gray: Any) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(gray)]


def zxing_plain(gray: Any) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain)]


def pyzbar_alone(gray: Any) -> list[str]:
    return [d.text for d in chain.read_pyzbar(gray)]


def opencv_barcode(gray: Any) -> list[str]:
    return [d.text for d in chain.read_opencv_barcode(gray)]


_qr = cv2.QRCodeDetector()


def opencv_qr(gray: Any) -> list[str]:
    try:
        text, _, _ = _qr.detectAndDecode(gray)
    except (cv2.error, UnicodeDecodeError):  # it raises on non-UTF-8 payloads
        return []
    return [text] if text else []


def zxing_then_opencv_qr(gray: Any) -> list[str]:
    return zxing_plain(gray) or opencv_qr(gray)


def agent_chain(gray: Any) -> list[str]:
    return [d.text for d in chain.decode_frame(gray)]


DECODERS: dict[str, Decoder] = {
    "zxing-cpp (defaults)": zxing_default,
    "zxing-cpp (plain text)": zxing_plain,
    "pyzbar": pyzbar_alone,
    "OpenCV cv2.barcode": opencv_barcode,
    "OpenCV QRCodeDetector": opencv_qr,
    "zxing-cpp then OpenCV QR": zxing_then_opencv_qr,
    "agent chain": agent_chain,
}
BASELINE = "zxing-cpp (defaults)"
#: Images holding a second, genuine code besides the expected one (not a wrong read).
SECOND_CODE = {
    "zxing-qrcode-2/16.png": "[内側QRコード]",  # a "double QR": an inner QR inside the outer one
}


def load(path: Path) -> Any | None:
    try:
        return chain.load_image(path)
    except ValueError:
        return None  # e.g. the 1×1 WebP in the false-positive set


def corpus(decoders: dict[str, Decoder]) -> dict[str, dict[str, Any]]:
    images = [(p, t, load(p)) for p, t in iter_corpus(SETS)]
    fps = [(p, load(p)) for p, _ in iter_corpus(FALSE_POSITIVE_SETS)]
    unreadable = [p.name for p, _, g in images if g is None] + [p.name for p, g in fps if g is None]
    results: dict[str, dict[str, Any]] = {}
    for name, decode in decoders.items():
        ok, wrong, fp_hits, times = 0, [], [], []
        for path, expected, gray in images:
            if gray is None:
                continue
            started = time.perf_counter()
            found = decode(gray)
            times.append(time.perf_counter() - started)
            ok += expected in found
            key = f"{path.parent.name}/{path.name}"
            others = [
                t
                for t in found
                if t != expected and not (key in SECOND_CODE and t.startswith(SECOND_CODE[key]))
            ]
            if others:
                wrong.append(f"{path.parent.name}/{path.name}: {others[0][:40]!r}")
        for path, gray in fps:
            if gray is None:
                continue
            started = time.perf_counter()
            found = decode(gray)
            times.append(time.perf_counter() - started)
            if found:
                fp_hits.append(f"{path.parent.name}/{path.name}: {found[0][:40]!r}")
        results[name] = {
            "ok": ok,
            "total": sum(1 for _, _, g in images if g is not None),
            "wrong": wrong,
            "fp": fp_hits,
            "ms_mean": 1000 * statistics.mean(times),
            "ms_p95": 1000 * sorted(times)[int(0.95 * len(times)) - 1],
        }
    results["_unreadable"] = {"files": unreadable}
    return results


def tilt(decoders: dict[str, Decoder], quick: bool) -> dict[str, dict[str, Any]]:
    label = label_image(CODE, dpi=150)
    conditions = {"clean": {}, "blur 1.0 + noise 8": {"blur": 1.0, "noise": 8}}
    if not quick:
        conditions["70 % size, blur 0.8 + noise 6"] = {"scale": 0.7, "blur": 0.8, "noise": 6}
    out: dict[str, dict[str, Any]] = {}
    for cname, params in conditions.items():
        frames = [
            (angle, scene(label, angle=angle, seed=angle, **params)) for angle in range(0, 95, 5)
        ]
        for dname, decode in decoders.items():
            hits, wrong, times = [], 0, []
            for angle, frame in frames:
                started = time.perf_counter()
                found = decode(frame)
                times.append(time.perf_counter() - started)
                if CODE in found:
                    hits.append(angle)
                wrong += any(t != CODE for t in found)
            out[f"{cname}|{dname}"] = {
                "hits": hits,
                "wrong": wrong,
                "ms_mean": 1000 * statistics.mean(times),
            }
    return out


def frame_rates(repeats: int) -> list[tuple[str, str, float, float, float, str]]:
    label = label_image(CODE, dpi=150)
    rows = []
    for size in ((640, 480), (1280, 720)):
        rng = np.random.default_rng(0)
        desk = np.clip(110 + rng.normal(0, 3, size[::-1]), 0, 255).astype(np.uint8)
        frames = {
            "empty desk": desk,
            "label 0°": scene(label, size=size, offset=(0, 0), noise=3),
            "label 30°": scene(label, angle=30, size=size, offset=(0, 0), noise=3),
        }
        for what, frame in frames.items():
            bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)  # cameras deliver colour frames
            per = {}
            chain.decode_frame(bgr)  # warm-up: the camera mode learns each stage's cost
            reads = chain.decode_frame(bgr, deadline=time.monotonic() + CAMERA_BUDGET)
            for mode in ("zxing", "chain", "camera"):
                started = time.perf_counter()
                for _ in range(repeats):
                    if mode == "zxing":
                        zxingcpp.read_barcodes(bgr)
                    elif mode == "chain":
                        chain.decode_frame(bgr)
                    else:
                        chain.decode_frame(bgr, deadline=time.monotonic() + CAMERA_BUDGET)
                per[mode] = (time.perf_counter() - started) / repeats
            got = ", ".join(d.text for d in reads) or "-"
            rows.append(
                (f"{size[0]}×{size[1]}", what, 1 / per["zxing"], 1 / per["chain"],
                 1 / per["camera"], got)
            )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    print(f"corpus: {CORPUS}: {', '.join(SETS)}")
    print(f"false-positive sets: {', '.join(FALSE_POSITIVE_SETS)}")
    results = corpus(DECODERS)
    unreadable = results.pop("_unreadable")["files"]
    base = results[BASELINE]
    print(f"\n{'decoder':28} {'decoded':>9} {'wrong':>6} {'FP img':>7} {'ms/img':>7} {'p95':>6}")
    for name, r in results.items():
        print(
            f"{name:28} {r['ok']:>4}/{r['total']:<4} {len(r['wrong']):>6} {len(r['fp']):>7} "
            f"{r['ms_mean']:>7.1f} {r['ms_p95']:>6.1f}"
        )
    agent = results["agent chain"]
    print(
        f"\nagent chain vs {BASELINE}: {agent['ok'] - base['ok']:+d} images, "
        f"{agent['ms_mean'] / base['ms_mean']:.2f}x the time per image; "
        f"target > 277 with no wrong read and no false positive: "
        f"{'MET' if agent['ok'] > 277 and not agent['wrong'] and not agent['fp'] else 'NOT MET'}"
    )
    for name, r in results.items():
        for w in r["wrong"][:6]:
            print(f"  wrong  [{name}] {w}")
        for f in r["fp"][:3]:
            print(f"  FP     [{name}] {f}")
    for key, prefix in SECOND_CODE.items():
        print(f"  (not counted as wrong: {key} also holds a genuine second code {prefix!r}...)")
    if unreadable:
        print(f"  (not readable by OpenCV, skipped: {', '.join(unreadable)})")

    tilt_decoders = {k: DECODERS[k] for k in (BASELINE, "pyzbar", "OpenCV cv2.barcode",
                                               "agent chain")}  # fmt: skip
    print("\nCode 128 label from labels/ (thermal-50x30, 150 dpi), 1280×720 desk, 0–90° by 5°")
    for key, r in tilt(tilt_decoders, args.quick).items():
        condition, name = key.split("|")
        missed = sorted(set(range(0, 95, 5)) - set(r["hits"]))
        print(
            f"  {condition:32} {name:22} {len(r['hits']):>2}/19 angles, wrong {r['wrong']}, "
            f"{r['ms_mean']:.0f} ms/frame; missed {missed or '-'}"
        )

    print("\nframes per second (1 thread; colour frames; label 296 px wide; camera = chain with")
    print("the camera's 80 ms per-frame deadline; the camera source asks for 10 Hz at most)")
    print(f"  {'size':10} {'frame':12} {'zxing-cpp':>10} {'chain':>8} {'camera':>8}  camera reads")
    for size, what, zx, full, cam, got in frame_rates(args.repeats):
        print(f"  {size:10} {what:12} {zx:>10.1f} {full:>8.1f} {cam:>8.1f}  {got}")


if __name__ == "__main__":
    main()

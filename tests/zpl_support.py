"""A small interpreter of the ZPL the labels library emits: each format as an image, so tests
can decode what a thermal printer would print (no printer or online viewer needed)."""

from __future__ import annotations

import re

import numpy as np
from reportlab.graphics.barcode.code128 import _patterns as reportlab_patterns

_COUNT = {c: i + 1 for i, c in enumerate("GHIJKLMNOPQRSTUVWXY")} | {
    c: 20 * (i + 1) for i, c in enumerate("ghijklmnopqrstuvwxyz")
}


def _decode_graphic(per_row: int, total: int, data: str) -> np.ndarray:
    """Expand ^GFA ASCII-compressed hex into a 0/1 array (1 = printed)."""
    rows: list[str] = []
    current = ""
    count = 0
    for ch in data:
        if ch in _COUNT:
            count += _COUNT[ch]
            continue
        if ch == ",":
            rows.append(current.ljust(2 * per_row, "0"))
            current = ""
        elif ch == ":":
            rows.append(rows[-1])
        else:
            current += ch * (count or 1)
        count = 0
        if len(current) == 2 * per_row:
            rows.append(current)
            current = ""
    assert len(rows) * per_row == total
    bits = np.unpackbits(np.frombuffer(bytes.fromhex("".join(rows)), dtype=np.uint8))
    return bits.reshape(len(rows), per_row * 8)


def _bc_values(data: str) -> list[int]:
    """Code 128 values for ZPL ^BC field data in mode N with invocation codes."""
    data = re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data)
    values: list[int] = []
    current = ""
    i = 0
    while i < len(data):
        if data.startswith((">;", ">:", ">5", ">6"), i):
            code = data[i + 1]
            if not values:
                values.append(105 if code == ";" else 104)
            else:
                values.append(99 if code == "5" else 100)
            current = "C" if code in ";5" else "B"
            i += 2
        elif data.startswith("><", i):
            values.append(ord(">") - 32)
            i += 2
        elif current == "C":
            values.append(int(data[i : i + 2]))
            i += 2
        else:
            values.append(ord(data[i]) - 32)
            i += 1
    values.append((values[0] + sum(k * v for k, v in enumerate(values[1:], start=1))) % 103)
    return values + [106]


def interpret_zpl(job: str) -> list[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
    """Render each ^XA…^XZ format to an image; also return the bar boxes."""
    formats = []
    for block in re.findall(r"\^XA(.*?)\^XZ", job, flags=re.S):
        width = int(re.search(r"\^PW(\d+)", block).group(1))  # type: ignore[union-attr]
        height = int(re.search(r"\^LL(\d+)", block).group(1))  # type: ignore[union-attr]
        canvas = np.full((height, width), 255, dtype=np.uint8)
        bars: list[tuple[int, int, int, int]] = []
        for x, y, body in re.findall(r"\^FO(\d+),(\d+)(.*?)\^FS", block, flags=re.S):
            x, y = int(x), int(y)
            if body.startswith("^GFA,"):
                total, _, per_row, data = body[5:].split(",", 3)
                bitmap = _decode_graphic(int(per_row), int(total), data)
                h, w = bitmap.shape
                region = canvas[y : y + h, x : x + w]
                region[bitmap[: region.shape[0], : region.shape[1]] == 1] = 0
            elif body.startswith("^GB"):
                w, h, t = (int(v) for v in body[3:].split(",")[:3])
                canvas[y : y + h, x : x + w] = 0
                canvas[y + t : y + h - t, x + t : x + w - t] = 255  # a frame: hollow inside
            elif "^BC" in body:
                module = int(re.search(r"\^BY(\d+)", body).group(1))  # type: ignore[union-attr]
                bar_h = int(re.search(r"\^BCN,(\d+)", body).group(1))  # type: ignore[union-attr]
                data = body.split("^FD", 1)[1]
                table = {"A": 1, "B": 2, "C": 3, "D": 4}
                widths = [table[c.upper()] for v in _bc_values(data) for c in reportlab_patterns[v]]
                position = x
                for k, w in enumerate(widths):
                    if k % 2 == 0:
                        canvas[y : y + bar_h, position : position + w * module] = 0
                    position += w * module
                bars.append((x, y, position, y + bar_h))
        formats.append((canvas, bars))
    return formats

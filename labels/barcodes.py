"""Barcode symbols as module patterns: Code 128 encoding and QR matrices.

Drawing is left to the backends (PDF, ZPL) so that bars land on whole printer dots.
"""

from __future__ import annotations

import functools
import re

from reportlab.graphics.barcode import qrencoder

from .errors import InvalidLabelData

# Code 128 symbol character widths (bar, space, bar, space, bar, space), values 0–105,
# then the stop pattern (with its final 2-module bar). ISO/IEC 15417 table 1.
_PATTERNS = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232 2331112"
).split()
_START_B, _START_C, _CODE_B, _CODE_C, _STOP = 104, 105, 100, 99, 106
QUIET_MODULES = 10
"""Code 128 quiet zone on each side, in modules (ISO/IEC 15417)."""

_DIGITS = re.compile(r"\d+")
_BITS = bytes.maketrans(b"\x00\x01", b"01")
_RUNS = re.compile(r"0{5,}|1{5,}")


def code128_values(data: str) -> list[int]:
    """Encode printable ASCII as Code 128 symbol values, start and check included.

    Runs of digits use code set C (two digits a symbol) when that is shorter: a run of at
    least 4 digits at either end, or at least 6 in the middle; everything else uses set B.

    :raises InvalidLabelData: for characters outside printable ASCII.
    """
    if not data or any(not " " <= ch <= "~" for ch in data):
        msg = f"Không mã hoá được {data!r} bằng Code 128 (chỉ ký tự ASCII in được)."
        raise InvalidLabelData(msg, field="tracking_number")
    # Decide, per character, whether it goes in set C.
    in_c = [False] * len(data)
    for match in _DIGITS.finditer(data):
        start, end = match.span()
        run = end - start
        at_edge = start == 0 or end == len(data)
        if run >= 6 or (at_edge and run >= 4) or run == len(data) and run >= 2:
            # An odd run leaves one digit in set B: at the run's start, unless the run
            # starts the data (then at its end, so the symbol can start in set C).
            if run % 2:
                if start == 0:
                    end -= 1
                else:
                    start += 1
            for i in range(start, end):
                in_c[i] = True
    values: list[int] = []
    current = "C" if in_c[0] else "B"
    values.append(_START_C if current == "C" else _START_B)
    i = 0
    while i < len(data):
        wanted = "C" if in_c[i] else "B"
        if wanted != current:
            values.append(_CODE_C if wanted == "C" else _CODE_B)
            current = wanted
        if current == "C":
            values.append(int(data[i : i + 2]))
            i += 2
        else:
            values.append(ord(data[i]) - 32)
            i += 1
    check = (values[0] + sum(pos * v for pos, v in enumerate(values[1:], start=1))) % 103
    values.append(check)
    return values


@functools.lru_cache(maxsize=4096)
def code128_widths(data: str) -> tuple[int, ...]:
    """Bar/space widths in modules, starting with a bar, stop pattern included."""
    widths: list[int] = []
    for value in code128_values(data):
        widths.extend(int(w) for w in _PATTERNS[value])
    widths.extend(int(w) for w in _PATTERNS[_STOP])
    return tuple(widths)


def code128_modules(data: str) -> int:
    """Width of the symbol in modules, without quiet zones."""
    return sum(code128_widths(data))


def _penalty(rows: list[str]) -> int:
    """QR mask penalty score (ISO/IEC 18004 §7.8.3, rules N1–N4) of rows of "0"/"1"."""
    size = len(rows)
    cols = ["".join(col) for col in zip(*rows, strict=True)]
    score = 0
    for line in rows + cols:
        # N1: runs of 5 or more same-coloured modules.
        for run in _RUNS.finditer(line):
            score += run.end() - run.start() - 2
        # N3: finder-like 1:1:3:1:1 pattern with 4 light modules on a side.
        score += 40 * (line.count("10111010000") + line.count("00001011101"))
    # N2: 2×2 blocks of one colour, with rows as bit masks: a block starts at column c
    # when both rows keep their colour from c to c+1 and agree with each other at c.
    full = (1 << (size - 1)) - 1
    bits = [int(row, 2) for row in rows]
    for a, b in zip(bits, bits[1:], strict=False):
        same = ~(a ^ (a >> 1)) & ~(b ^ (b >> 1)) & ~(a ^ b) & full
        score += 3 * same.bit_count()
    # N4: proportion of dark modules.
    dark = sum(row.count("1") for row in rows)
    score += 10 * (abs(dark * 100 // (size * size) - 50) // 5)
    return score


_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
)
"""The eight QR data masks (ISO/IEC 18004 table 10), row i, column j."""


@functools.lru_cache(maxsize=64)
def _mask_rows(size: int, mask: int) -> tuple[int, ...]:
    """Mask ``mask`` as one integer per row, column 0 in the most significant bit."""
    condition = _MASKS[mask]
    return tuple(
        sum(1 << (size - 1 - j) for j in range(size) if condition(i, j)) for i in range(size)
    )


def _row_ints(modules: list[list[bool]]) -> list[int]:
    return [int(bytes(map(bool, row)).translate(_BITS), 2) for row in modules]


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, for Reed-Solomon codewords.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]
del _value, _power


@functools.cache
def _generator(degree: int) -> tuple[int, ...]:
    """Reed-Solomon generator polynomial (x - α^0)…(x - α^(degree-1)), leading 1 dropped."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coefficient in enumerate(poly):
            nxt[j] ^= coefficient
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        poly = nxt
    return tuple(poly[1:])


def _ec_codewords(data: list[int], degree: int) -> list[int]:
    """Remainder of data·x^degree divided by the generator: the error correction bytes."""
    generator = [_LOG[g] for g in _generator(degree)]
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            log_factor = _LOG[factor]
            for i, log_g in enumerate(generator):
                remainder[i] ^= _EXP[log_g + log_factor]
    return remainder


def _codewords(qr: qrencoder.QRCode) -> list[int]:
    """Data and error correction codewords, interleaved, as reportlab's ``createData``.

    Same bit stream and padding as reportlab (its mode segments write themselves into the
    buffer), but a table-driven Reed-Solomon encoder: reportlab's polynomial classes take
    most of the time of a symbol.
    """
    blocks = qrencoder.QRRSBlock.getRSBlocks(qr.version, qr.errorCorrectLevel)
    buffer = qrencoder.QRBitBuffer()
    for segment in qr.dataList:
        segment.write(buffer, qr.version)
    capacity = 8 * sum(block.dataCount for block in blocks)
    if buffer.getLengthInBits() > capacity:
        msg = f"Dữ liệu quá dài cho mã QR ({buffer.getLengthInBits()} > {capacity} bit)."
        raise InvalidLabelData(msg, field="lookup_url")
    if buffer.getLengthInBits() + 4 <= capacity:
        buffer.put(0, 4)
    while buffer.getLengthInBits() % 8:
        buffer.putBit(False)
    pads = (0xEC, 0x11)
    index = 0
    while buffer.getLengthInBits() < capacity:
        buffer.put(pads[index % 2], 8)
        index += 1
    data_blocks: list[list[int]] = []
    ec_blocks: list[list[int]] = []
    offset = 0
    for block in blocks:
        chunk = list(buffer.buffer[offset : offset + block.dataCount])
        offset += block.dataCount
        data_blocks.append(chunk)
        ec_blocks.append(_ec_codewords(chunk, block.totalCount - block.dataCount))
    out: list[int] = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


@functools.lru_cache(maxsize=512)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The modules of a QR code (error correction M) for ``data``, without quiet zone.

    reportlab's encoder picks the version and mode (numeric, alphanumeric, byte) and
    places the data once, unmasked; the eight masks are then applied and scored here on
    row bit masks, which is several times faster than reportlab's own mask selection.
    """
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(data)
    qr.version = qr.calculate_version()
    qr.dataCache = _codewords(qr)
    size = qr.version * 4 + 17
    # Mask 0 layout, then undo mask 0 on the data modules to get the raw data bits.
    qr.makeImpl(False, 0)
    data_mask = [0] * size
    for col, row in qr.dataPosIterator():
        data_mask[row] |= 1 << (size - 1 - col)
    placed = _row_ints(qr.modules)
    mask0 = _mask_rows(size, 0)
    raw = [(placed[r] ^ mask0[r]) & data_mask[r] for r in range(size)]
    best: list[str] = []
    best_score = -1
    for mask in range(8):
        # Function patterns with this mask's format information.
        qr.modules = [[False] * size for _ in range(size)]
        qr.setupPositionProbePattern(0, 0)
        qr.setupPositionProbePattern(size - 7, 0)
        qr.setupPositionProbePattern(0, size - 7)
        qr.setupPositionAdjustPattern()
        qr.setupTimingPattern()
        qr.setupTypeInfo(False, mask)
        if qr.version >= 7:
            qr.setupTypeNumber(False)
        function = _row_ints(qr.modules)
        masks = _mask_rows(size, mask)
        rows = [
            format(
                (function[r] & ~data_mask[r]) | ((raw[r] ^ masks[r]) & data_mask[r]),
                f"0{size}b",
            )
            for r in range(size)
        ]
        score = _penalty(rows)
        if best_score < 0 or score < best_score:
            best, best_score = rows, score
    return tuple(tuple(ch == "1" for ch in row) for row in best)

"""reportlab helpers shared by the PDF renderers."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from .plan import BarsOp, BoxOp, MatrixOp, Op, TextOp
from .text import register_fonts

PRODUCER = "dossier tracker labels"
INSET = 0.1
"""How far (in printer dots) every bar and module edge is pulled in."""


def new_canvas(page_size: tuple[float, float], title: str) -> tuple[Canvas, io.BytesIO]:
    """A canvas writing into memory; ``invariant`` makes equal input give equal bytes."""
    register_fonts()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=page_size, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator(PRODUCER)
    canvas.setAuthor(PRODUCER)
    return canvas, buf


_SAVE_LOCK = threading.Lock()


def finish(canvas: Canvas, buf: io.BytesIO) -> bytes:
    """Save the canvas and return the PDF bytes.

    reportlab ASCII85-encodes compressed page streams by default (``rl_config.useA85``),
    in pure Python since its C accelerator became a separate package; that alone took a
    third of a receipt's time. The switch is global and read while saving, so it is
    turned off only for the duration of the save, under a lock. The PDF is then binary,
    which every reader accepts, and smaller.
    """
    with _SAVE_LOCK:
        previous = rl_config.useA85
        rl_config.useA85 = 0
        try:
            canvas.save()
        finally:
            rl_config.useA85 = previous
    return buf.getvalue()


def snap(value: float, dot: float) -> float:
    """Round a coordinate to the nearest printer dot."""
    return round(value / dot) * dot


def _rects(canvas: Canvas, rects: Iterable[tuple[float, float, float, float]]) -> None:
    """Fill rectangles in black, written straight into the page stream.

    reportlab's path API formats every number in pure Python (its C accelerator is a
    separate package); barcodes have hundreds of rectangles, so this writes them at once.
    Three decimals of a point are 1/100 of a printer dot at 600 dpi.
    """
    body = "".join(f"{x:.3f} {y:.3f} {w:.3f} {h:.3f} re\n" for x, y, w, h in rects)
    canvas.addLiteral(f"q 0 g\n{body}f Q")


def _shrunk(
    x: float, y: float, w: float, h: float, inset: float
) -> tuple[float, float, float, float]:
    return (x + inset, y + inset, w - 2 * inset, h - 2 * inset)


def draw_bars(canvas: Canvas, op: BarsOp, x0: float, y0: float, dot: float) -> None:
    """Draw Code 128 bars with every edge on the printer's dot grid.

    Each edge is pulled in by a tenth of a dot: rasterisers that paint every pixel a shape
    touches (PostScript's rule, poppler without anti-aliasing, many printer drivers) would
    otherwise grow each bar by a whole dot whenever rounding puts an edge a hair past the
    dot boundary. Anti-aliased renderers show it as a 10 % lighter edge pixel.
    """
    inset = INSET * dot
    left = snap(x0 + op.x, dot)
    y = y0 + op.y
    rects = []
    position = 0
    for index, modules in enumerate(op.widths):
        if index % 2 == 0:
            rects.append(
                _shrunk(left + position * op.module, y, modules * op.module, op.height, inset)
            )
        position += modules
    _rects(canvas, rects)


def draw_matrix(
    canvas: Canvas,
    op: MatrixOp,
    x0: float,
    y0: float,
    dot: float,
    page_height: float,
) -> None:
    """Draw a 2D symbol; runs of dark modules repeated on following rows become one box.

    Edges are pulled in like the bars' (see :func:`draw_bars`).
    """
    inset = INSET * dot
    left = snap(x0 + op.x, dot)
    size = len(op.matrix)
    m = op.module
    # Rows are counted from the top of the page by the printer, so snap the top edge there.
    top = page_height - snap(page_height - (y0 + op.y + size * m), dot)
    runs_by_row: list[list[tuple[int, int]]] = []
    for row in op.matrix:
        runs = []
        c = 0
        while c < size:
            if row[c]:
                start = c
                while c < size and row[c]:
                    c += 1
                runs.append((start, c))
            else:
                c += 1
        runs_by_row.append(runs)
    rects = []
    open_runs: dict[tuple[int, int], int] = {}  # run -> first row
    for r in range(size + 1):
        current = set(runs_by_row[r]) if r < size else set()
        for run in list(open_runs):
            if run not in current:
                first = open_runs.pop(run)
                box = (left + run[0] * m, top - r * m, (run[1] - run[0]) * m, (r - first) * m)
                rects.append(_shrunk(*box, inset))
        for run in current:
            open_runs.setdefault(run, r)
    rects.sort()
    _rects(canvas, rects)


def draw_text(canvas: Canvas, op: TextOp, x0: float, y0: float) -> None:
    """Draw one line of text."""
    canvas.setFont(op.font, op.size)
    if op.centered:
        canvas.drawCentredString(x0 + op.x, y0 + op.baseline, op.text)
    else:
        canvas.drawString(x0 + op.x, y0 + op.baseline, op.text)


def draw_ops(
    canvas: Canvas,
    ops: Iterable[Op],
    x0: float,
    y0: float,
    dpi: int,
    page_height: float,
) -> None:
    """Draw a label plan with its bottom-left corner at ``(x0, y0)``."""
    dot = 72 / dpi
    for op in ops:
        if isinstance(op, TextOp):
            draw_text(canvas, op, x0, y0)
        elif isinstance(op, BarsOp):
            draw_bars(canvas, op, x0, y0, dot)
        elif isinstance(op, BoxOp):
            # On the dot grid, like the bars: a 1-dot rule prints as one dot, not two.
            x, y = snap(x0 + op.x, dot), snap(y0 + op.y, dot)
            w = max(dot, snap(x0 + op.x + op.width, dot) - x)
            h = max(dot, snap(y0 + op.y + op.height, dot) - y)
            _rects(canvas, [(x, y, w, h)])
        else:
            draw_matrix(canvas, op, x0, y0, dot, page_height)

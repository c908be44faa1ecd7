"""reportlab helpers shared by the PDF renderers."""

from __future__ import annotations

import io
from collections.abc import Iterable

from reportlab.pdfgen.canvas import Canvas

from .plan import BarsOp, MatrixOp, Op, TextOp
from .text import register_fonts

PRODUCER = "dossier tracker labels"


def new_canvas(page_size: tuple[float, float], title: str) -> tuple[Canvas, io.BytesIO]:
    """A canvas writing into memory; ``invariant`` makes equal input give equal bytes."""
    register_fonts()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=page_size, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator(PRODUCER)
    canvas.setAuthor(PRODUCER)
    return canvas, buf


def finish(canvas: Canvas, buf: io.BytesIO) -> bytes:
    """Save the canvas and return the PDF bytes."""
    canvas.save()
    return buf.getvalue()


def snap(value: float, dot: float) -> float:
    """Round a coordinate to the nearest printer dot."""
    return round(value / dot) * dot


def draw_bars(canvas: Canvas, op: BarsOp, x0: float, y0: float, dot: float) -> None:
    """Draw Code 128 bars with every edge on the printer's dot grid."""
    left = snap(x0 + op.x, dot)
    path = canvas.beginPath()
    position = 0
    y = y0 + op.y
    for index, modules in enumerate(op.widths):
        if index % 2 == 0:
            path.rect(left + position * op.module, y, modules * op.module, op.height)
        position += modules
    canvas.drawPath(path, stroke=0, fill=1)


def draw_matrix(
    canvas: Canvas,
    op: MatrixOp,
    x0: float,
    y0: float,
    dot: float,
    page_height: float,
) -> None:
    """Draw a 2D symbol, one rectangle per horizontal run of dark modules."""
    left = snap(x0 + op.x, dot)
    size = len(op.matrix)
    # Rows are counted from the top of the page by the printer, so snap the top edge there.
    top = page_height - snap(page_height - (y0 + op.y + size * op.module), dot)
    path = canvas.beginPath()
    for r, row in enumerate(op.matrix):
        y = top - (r + 1) * op.module
        c = 0
        while c < size:
            if row[c]:
                start = c
                while c < size and row[c]:
                    c += 1
                path.rect(left + start * op.module, y, (c - start) * op.module, op.module)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)


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
        else:
            draw_matrix(canvas, op, x0, y0, dot, page_height)

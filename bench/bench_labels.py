"""Benchmark the label library: 1,000 dossier labels on A4 sheets, 100 receipts.

Each figure is compared with a baseline measured in the same run: bare reportlab doing the
least comparable work (plain ``Code128`` widgets on a canvas for the labels; a Code 128
and a reportlab ``QrCodeWidget`` on two pages per document for the receipts). Times are
the best of ``--repeat`` runs, wall clock and process CPU.

Run: ``.venv/bin/python bench/bench_labels.py``
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import reportlab
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas

from labels import LAYOUTS, LabelData, ReceiptData, render_labels, render_receipt
from labels.layout import MM

ICT = timezone(timedelta(hours=7))
RECEIVED = datetime(2026, 11, 22, 9, 15, tzinfo=ICT)
PROCEDURES = (
    "Đăng ký khai sinh",
    "Cấp bản sao trích lục hộ tịch",
    "Đăng ký kết hôn",
    "Chứng thực chữ ký",
    "Cấp giấy chứng nhận quyền sử dụng đất lần đầu",
)


def make_labels(count: int) -> list[LabelData]:
    return [
        LabelData(
            tracking_number=f"26112{i:07d}",
            official_code=f"000.00.19.H12-261122-{i % 10000:04d}",
            procedure_name=PROCEDURES[i % len(PROCEDURES)],
            received_at=RECEIVED + timedelta(minutes=i),
            due_at=RECEIVED + timedelta(days=3, hours=6),
            office_name="UBND phường Ba Đình" if i % 3 else "",
        )
        for i in range(count)
    ]


def make_receipts(count: int) -> list[ReceiptData]:
    return [
        ReceiptData(
            official_code=f"000.00.19.H12-261122-{i:04d}",
            tracking_number=f"26112{i:07d}",
            applicant_name="Nguyễn Thị Hằng",
            request_name=PROCEDURES[i % len(PROCEDURES)],
            received_at=RECEIVED,
            due_at=RECEIVED + timedelta(days=3),
            lookup_url=f"https://dichvucong.example.gov.vn/tra-cuu/000.00.19.H12-261122-{i:04d}"
            f"?t=S{i:015d}",
            lookup_secret=f"S{i:015d}",
            agency_name="UBND phường Ba Đình",
            place="Hà Nội",
            address="Số 12 phố Đội Cấn, phường Ba Đình, Hà Nội",
            phone="0912 345 678",
            documents=["Tờ khai", "Giấy chứng sinh (bản chính)", "Giấy chứng nhận kết hôn"],
            legal_duration="03 ngày làm việc",
            receiver_name="Trần Văn Bình",
        )
        for i in range(count)
    ]


def baseline_labels(labels: list[LabelData]) -> bytes:
    """Bare reportlab: one plain Code128 widget per slot of the same A4 grid."""
    layout = LAYOUTS["a4-65"]
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=layout.page_size, invariant=1)
    per_page = layout.labels_per_page
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            canvas.showPage()
        x, y = layout.slot_origin(index % per_page)
        Code128(label.tracking_number, barWidth=0.254 * MM, barHeight=8 * MM).drawOn(
            canvas, x + 2 * MM, y + 4 * MM
        )
    canvas.save()
    return buf.getvalue()


def baseline_receipts(receipts: list[ReceiptData]) -> list[bytes]:
    """Bare reportlab: per document, two pages with a Code128 and a QrCodeWidget."""
    out = []
    for receipt in receipts:
        buf = io.BytesIO()
        canvas = Canvas(buf, invariant=1)
        for _ in range(2):
            Code128(receipt.tracking_number, barWidth=0.254 * MM, barHeight=10 * MM).drawOn(
                canvas, 20 * MM, 100 * MM
            )
            qr = QrCodeWidget(receipt.lookup_url, barLevel="M")
            drawing = Drawing(25 * MM, 25 * MM)
            drawing.add(qr)
            drawing.drawOn(canvas, 160 * MM, 100 * MM)
            canvas.showPage()
        canvas.save()
        out.append(buf.getvalue())
    return out


def best(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU time over ``repeat`` runs, in seconds."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--receipts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    labels = make_labels(args.labels)
    receipts = make_receipts(args.receipts)
    # Warm up: font registration and parsing happen once per process.
    render_labels(labels[:1], LAYOUTS["a4-65"])
    render_receipt(receipts[0])
    baseline_labels(labels[:1])

    print(
        f"python {platform.python_version()}, reportlab {reportlab.Version}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    layout = LAYOUTS["a4-65"]
    ours = best(lambda: render_labels(labels, layout), args.repeat)
    base = best(lambda: baseline_labels(labels), args.repeat)
    pages = -(-len(labels) // layout.labels_per_page)
    print(
        f"{len(labels)} dossier labels, a4-65 ({pages} pages): "
        f"{ours[0]:.3f} s wall, {ours[1]:.3f} s CPU  (target <= 1 s)"
    )
    print(
        f"  baseline, bare reportlab Code128 widgets: {base[0]:.3f} s wall, {base[1]:.3f} s CPU"
        f"  -> ratio {ours[0] / base[0]:.2f}x"
    )

    # Distinct receipts each time: the QR cache must not help.
    ours = best(lambda: [render_receipt(r) for r in make_receipts(args.receipts)], args.repeat)
    base = best(lambda: baseline_receipts(make_receipts(args.receipts)), args.repeat)
    setup = best(lambda: make_receipts(args.receipts), args.repeat)
    print(
        f"{len(receipts)} receipts (2 A4 pages each, Code 128 + QR): "
        f"{ours[0] - setup[0]:.3f} s wall, {ours[1] - setup[1]:.3f} s CPU  (target <= 2 s)"
    )
    print(
        f"  baseline, bare reportlab Code128 + QrCodeWidget on 2 pages: "
        f"{base[0] - setup[0]:.3f} s wall, {base[1] - setup[1]:.3f} s CPU"
        f"  -> ratio {(ours[0] - setup[0]) / (base[0] - setup[0]):.2f}x"
    )


if __name__ == "__main__":
    main()

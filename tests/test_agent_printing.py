"""Printing at the counter through the agent, with real parts: the real server, the agent as
its own process, and printers that receive real bytes (a TCP listener on a free port, a serial
pty, a file as the USB device, a recording ``lp``). What each printer gets is rendered (the
ZPL through tests/zpl_support.py, the PDF through poppler) and its barcodes decoded."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import requests
import zxingcpp
from agent_support import TrackerServer, agent_command, agent_env, free_port, wait_for
from printer_support import NetworkPrinter, SerialPrinter, recording_lp
from pyzbar import pyzbar
from zpl_support import interpret_zpl

from scanner_agent.config import PrinterConfig
from scanner_agent.printing import (
    CupsPrinter,
    PrintError,
    PrintJobPoller,
    TcpPrinter,
    UsbPrinter,
    calibration,
)

pytestmark = pytest.mark.skipif(
    not (Path(__file__).parents[1] / "app" / "cli.py").exists(), reason="server not present"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TrackerServer:
    return TrackerServer(tmp_path_factory.mktemp("tracker-template"))


@pytest.fixture
def server(tmp_path: Path, template: TrackerServer) -> Iterator[TrackerServer]:
    tracker = TrackerServer(tmp_path, template=template).start()
    yield tracker
    tracker.stop()


def agent(tmp: Path, *args: str, path_prefix: Path | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = agent_env(tmp)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    return subprocess.run(agent_command(*args), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def server_flags(server: TrackerServer) -> list[str]:
    return ["--server", server.url, "--token", server.token]


def zpl_barcodes(job: bytes) -> list[list[str]]:
    """Per ZPL label format, the barcodes a scanner reads off the printed label."""
    formats = interpret_zpl(job.decode("utf-8"))
    return [sorted(r.text for r in zxingcpp.read_barcodes(image)) for image, _bars in formats]


def pdf_barcodes(pdf: Path, dpi: int = 203) -> set[str]:
    """Rasterise the PDF as the printer driver would (poppler at the printer's dpi) and read
    its 1D barcodes with ZBar, the cheap laser scanner's decoder."""
    out = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(pdf), str(out)], check=True)
    found: set[str] = set()
    for png in sorted(pdf.parent.glob(f"{out.name}*.png")):
        image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        framed = cv2.copyMakeBorder(image, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
        found |= {s.data.decode() for s in pyzbar.decode(framed)}
    return found


def test_print_sends_the_dossiers_zpl_label_to_a_network_printer(tmp_path, server):
    dossier = server.dossiers[0]
    with NetworkPrinter() as printer:
        done = agent(tmp_path, "print", dossier["code"], "--copies", "2",
                     "--printer", f"tcp:127.0.0.1:{printer.port}", *server_flags(server))
        assert done.returncode == 0, done.stderr
        (job,) = wait_for(lambda: printer.jobs)
    assert job.startswith(b"^XA") and job.rstrip().endswith(b"^XZ")
    assert b"^PQ2" in job  # two copies, printed by the printer
    assert zpl_barcodes(job) == [[dossier["tracking_number"]]]
    assert "đã in nhãn / label printed" in done.stderr


def test_print_by_tracking_number_on_a_300_dpi_serial_printer(tmp_path, server):
    dossier = server.dossiers[1]
    config = tmp_path / "agent.toml"
    with SerialPrinter() as printer:
        config.write_text(
            f'server_url = "{server.url}"\ntoken = "{server.token}"\n'
            f'[printer]\ntype = "serial"\naddress = "{printer.port}"\nbaudrate = 115200\n'
            "dpi = 300\nwidth_mm = 50\nheight_mm = 30\n", encoding="utf-8")
        done = agent(tmp_path, "print", dossier["tracking_number"], "--config", str(config))
        assert done.returncode == 0, done.stderr
        job = printer.wait_for_job()
    assert b"^PW591" in job  # 50 mm at 300 dpi
    assert zpl_barcodes(job) == [[dossier["tracking_number"]]]


def test_print_test_writes_the_calibration_label_to_a_usb_device_file(tmp_path):
    device = tmp_path / "lp0"
    device.touch()
    done = agent(tmp_path, "print-test", "--printer", f"usb:{device}")
    assert done.returncode == 0, done.stderr
    assert zpl_barcodes(device.read_bytes()) == [["123456789012", "50X30MM 203DPI"]]
    assert "nhãn căn chỉnh 50×30 mm, 203 dpi" in done.stderr


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_cups_gets_the_label_pdf_at_actual_size(tmp_path, server):
    dossier = server.dossiers[2]
    path = recording_lp(tmp_path / "cups")
    done = agent(tmp_path, "print", dossier["code"], "--printer", "cups:NHAN_50x30",
                 *server_flags(server), path_prefix=path)
    assert done.returncode == 0, done.stderr
    (pdf,) = (tmp_path / "cups" / "printed").iterdir()
    assert pdf.read_bytes().startswith(b"%PDF")
    args = (tmp_path / "cups" / "args.txt").read_text(encoding="utf-8")
    assert "-d NHAN_50x30" in args and "fit-to-page=false" in args
    assert pdf_barcodes(pdf) == {dossier["tracking_number"]}


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_print_test_through_cups_is_the_calibration_pdf(tmp_path):
    path = recording_lp(tmp_path / "cups")
    done = agent(tmp_path, "print-test", "--printer", "cups", path_prefix=path)
    assert done.returncode == 0, done.stderr
    (pdf,) = (tmp_path / "cups" / "printed").iterdir()
    assert "-d" not in (tmp_path / "cups" / "args.txt").read_text(encoding="utf-8").split()
    assert pdf_barcodes(pdf) == {"123456789012", "50X30MM 203DPI"}


def test_printer_problems_are_said_in_vietnamese_and_english_and_exit_nonzero(tmp_path, server):
    closed = free_port()
    done = agent(tmp_path, "print", server.dossiers[0]["code"], "--printer",
                 f"tcp:127.0.0.1:{closed}", *server_flags(server))
    assert done.returncode == 1
    assert f"Không kết nối được máy in 127.0.0.1:{closed}" in done.stderr
    assert f"printer 127.0.0.1:{closed} unreachable" in done.stderr
    assert "Traceback" not in done.stderr
    path = recording_lp(tmp_path / "cups", exit_code=1, complaint="lp: The printer or class does "
                        "not exist.")
    done = agent(tmp_path, "print-test", "--printer", "cups:KHONG_CO", path_prefix=path)
    assert done.returncode == 1
    assert "Hàng đợi in KHONG_CO từ chối" in done.stderr and "does not exist" in done.stderr
    unknown = agent(tmp_path, "print", "000.00.19.H12-261122-9999", "--printer",
                    f"usb:{tmp_path / 'lp0'}", *server_flags(server))
    assert unknown.returncode == 1 and "no dossier" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_a_usb_printer_that_never_takes_the_data_times_out(tmp_path):
    """A FIFO with no reader blocks its writer, like an offline printer's device file."""
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    printer = UsbPrinter(PrinterConfig("usb", str(fifo), timeout=0.5))
    with pytest.raises(PrintError, match="không trả lời .* / printer .* timed out"):
        printer.send(b"^XA^XZ")
    with open(fifo, "rb"):  # let the stuck writer finish
        pass


def test_doctor_says_whether_the_printer_answers(tmp_path):
    from scanner_agent.config import AgentConfig
    from scanner_agent.doctor import check_printer

    lines: list[str] = []
    with NetworkPrinter() as printer:
        config = AgentConfig(printer=PrinterConfig("tcp", f"127.0.0.1:{printer.port}"))
        assert check_printer(config, lines.append) == 0
    assert any("accepts connections" in line for line in lines)
    lines.clear()
    config = AgentConfig(printer=PrinterConfig("tcp", f"127.0.0.1:{free_port()}"))
    assert check_printer(config, lines.append) == 1
    assert any("PROBLEM: Không kết nối được máy in" in line for line in lines)
    lines.clear()
    assert check_printer(AgentConfig(printer=PrinterConfig("usb", str(tmp_path / "no"))),
                         lines.append) == 1
    assert check_printer(AgentConfig(), lines.append) == 0  # no printer: nothing to check


def test_cups_command_prints_the_pdf_at_actual_size(tmp_path):
    printer = CupsPrinter(PrinterConfig("cups", "NHAN", lp_command="/usr/bin/lp"))
    command = printer.command(tmp_path / "job.pdf")
    assert command[:3] == ["/usr/bin/lp", "-d", "NHAN"] and "print-scaling=none" in command
    raw = CupsPrinter(PrinterConfig("cups", "ZEBRA", raw=True))
    assert raw.config.format == "zpl" and "raw" in raw.command(tmp_path / "job.zpl")


# --- print jobs queued on the server ------------------------------------------------------------


def _reset_schema(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as con:
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")


@pytest.fixture
def any_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TrackerServer]:
    """The real server on ``TEST_DATABASE_URL`` (migrated and seeded here, emptied after) when
    it is set, else on a copy of the SQLite template."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        template = request.getfixturevalue("template")
        tracker = TrackerServer(tmp_path, template=template).start()
        yield tracker
        tracker.stop()
        return
    _reset_schema(url)
    tracker = TrackerServer(tmp_path, database_url=url).start()
    try:
        yield tracker
    finally:
        tracker.stop()
        _reset_schema(url)


def reception_headers(server: TrackerServer) -> dict[str, str]:
    letan = next(u for u in server.demo["users"] if u["username"] == "letan")
    return {"Authorization": f"Bearer {letan['token']}"}


def queue_label(server: TrackerServer, code: str, **body: object) -> dict:
    body = {"station": server.station} | body
    response = requests.post(f"{server.url}/api/v1/dossiers/{code}/print-jobs", json=body,
                             headers=reception_headers(server), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def job_status(server: TrackerServer, code: str) -> list[tuple[int, str, str | None]]:
    jobs = requests.get(f"{server.url}/api/v1/dossiers/{code}/print-jobs",
                        headers=reception_headers(server), timeout=10).json()["jobs"]
    return [(j["id"], j["status"], j["error"]) for j in jobs]


@pytest.mark.db
def test_a_label_queued_at_the_counter_prints_through_the_running_agent(tmp_path, any_server):
    """Reception asks for the label of a new dossier; the agent, running with a scanner on
    stdin, prints it on its network printer and the server shows it printed; while the
    printer is off, the next job is reported failed and the agent keeps scanning."""
    server = any_server
    dossier = server.dossiers[0]
    with NetworkPrinter() as printer:
        config = tmp_path / "agent.toml"
        config.write_text(
            f'server_url = "{server.url}"\ntoken = "{server.token}"\n'
            f'station = "{server.station}"\noutbox = "{tmp_path / "outbox.db"}"\n'
            "sound = false\ndouble_read_seconds = 0.0\n"
            f'[printer]\ntype = "tcp"\naddress = "127.0.0.1:{printer.port}"\n'
            "poll_seconds = 0.2\ntimeout = 2\n", encoding="utf-8")
        process = subprocess.Popen(
            agent_command("run", "--config", str(config), "--source", "stdin"),
            env=agent_env(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8")
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)
        reader.start()
        try:
            job = queue_label(server, dossier["code"], copies=3)
            (printed,) = wait_for(lambda: printer.jobs)
            assert zpl_barcodes(printed) == [[dossier["tracking_number"]]]
            assert b"^PQ3" in printed
            wait_for(lambda: job_status(server, dossier["code"])
                     == [(job["id"], "printed", None)])
            # The printer goes away: the job fails, visibly, and scanning goes on.
            printer.server.close()
            failed = queue_label(server, dossier["code"])
            status = wait_for(lambda: next((s for s in job_status(server, dossier["code"])
                                            if s[0] == failed["id"] and s[1] != "pending"), None))
            assert status[1] == "failed" and "Không kết nối được máy in" in (status[2] or "")
            assert "unreachable" in (status[2] or "")
            assert process.stdin is not None
            process.stdin.write(dossier["tracking_number"] + "\n")
            process.stdin.flush()
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "[OK]" in line or "[FLAGGED]" in line or "ALREADY" in line, line
            assert process.poll() is None  # the agent is still running
        finally:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=30)
            reader.join(5)
            for stream in (process.stdout, process.stderr):
                if stream:
                    stream.close()
    text = "".join(errors)
    assert f"[IN NHÃN] {dossier['code']} × 3" in text and "[LỖI IN]" in text


class _Offline:
    """A client whose server went away after the label was fetched."""

    def __init__(self, real) -> None:
        self.real = real
        self.reachable = True
        self.reports: list[tuple[int, bool]] = []

    def print_jobs(self):
        return self.real.print_jobs()

    def label(self, *args, **kwargs):
        return self.real.label(*args, **kwargs)

    def finish_print_job(self, job_id: int, printed: bool, error: str | None = None) -> None:
        from scanner_agent.client import TransientError

        if not self.reachable:
            raise TransientError("server gone")
        self.reports.append((job_id, printed))
        self.real.finish_print_job(job_id, printed, error)


def test_a_printed_job_whose_report_is_lost_is_reported_later_never_printed_twice(server):
    from scanner_agent.client import TrackerClient

    dossier = server.dossiers[1]
    job = queue_label(server, dossier["code"])
    client = _Offline(TrackerClient(server.url, server.token))
    with NetworkPrinter() as printer:
        poller = PrintJobPoller(client, TcpPrinter(PrinterConfig(  # type: ignore[arg-type]
            "tcp", f"127.0.0.1:{printer.port}")), say=lambda ok, text: None)
        client.reachable = False
        assert poller.poll_once() == 1
        assert job_status(server, dossier["code"]) == [(job["id"], "pending", None)]
        client.reachable = True
        assert poller.poll_once() == 0  # reports, and does not print the job again
        wait_for(lambda: len(printer.jobs) == 1)
    assert job_status(server, dossier["code"]) == [(job["id"], "printed", None)]
    assert client.reports == [(job["id"], True)]


def test_calibration_in_the_printers_format(tmp_path):
    assert calibration(PrinterConfig("tcp", "x")).startswith(b"^XA")
    assert calibration(PrinterConfig("cups")).startswith(b"%PDF")
    with pytest.raises(PrintError, match="Khổ nhãn"):
        calibration(PrinterConfig("tcp", "x", width_mm=500))


@pytest.mark.parametrize(("table", "message"), [
    ({"type": "zebra"}, "unknown printer type 'zebra'"),
    ({"type": "tcp"}, "a tcp printer needs an address"),
    ({"type": "usb", "address": "/dev/usb/lp0", "darkness": 20}, "unknown key 'darkness'"),
    ({"type": "cups", "dpi": 250}, "dpi must be 203, 300 or 600"),
    ({"type": "cups", "timeout": 0}, "timeout must be positive"),
    ({"type": "cups", "raw": "yes"}, "raw must be true or false"),
])
def test_a_wrong_printer_table_is_named_in_the_error(table: dict, message: str) -> None:
    from scanner_agent.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match=message):
        from_mapping({"printer": table})


def test_the_printer_table_picks_the_format_and_print_needs_a_printer(tmp_path) -> None:
    from scanner_agent.config import from_mapping

    config = from_mapping({"printer": {"type": "cups", "address": "NHAN", "dpi": 300}})
    assert config.printer is not None
    assert (config.printer.format, config.printer.dpi, config.printer.width_mm) == ("pdf", 300, 50)
    assert from_mapping({"printer": {"type": "usb", "address": "/dev/usb/lp0"}}).printer.format \
        == "zpl"  # type: ignore[union-attr]
    done = agent(tmp_path, "print-test")
    assert done.returncode == 1 and "no printer configured" in done.stderr

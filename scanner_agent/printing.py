"""Printing dossier labels at the counter, without a browser print dialog.

The ``[printer]`` table of the configuration picks a backend:

- ``tcp``: the label as ZPL, raw, to a network thermal printer (port 9100);
- ``serial``: the ZPL to a serial port (a USB-serial thermal printer);
- ``usb``: the ZPL written to the printer's device file (``/dev/usb/lp0`` on Linux);
- ``cups``: the PDF (or the ZPL with ``raw = true``) to a CUPS queue with ``lp``;
- ``windows``: the PDF to the default printer through ``os.startfile(path, "print")``, which
  asks the installed PDF application to print it (Windows only; untested here).

The label is fetched from the server with the device token, on the configured stock and
resolution, so it is the same label the counter's web page prints. Every failure is a
:class:`PrintError` whose message is in Vietnamese and English, for the operator's console;
nothing here may stop the agent.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import click

from .client import BatchRejected, ClientError, NotFoundError, TrackerClient, TransientError
from .config import PrinterConfig, user_state_dir

log = logging.getLogger(__name__)


class PrintError(Exception):
    """The printer could not be reached or refused the job; the message says so in Vietnamese,
    then English."""

    def __init__(self, vietnamese: str, english: str) -> None:
        super().__init__(f"{vietnamese} / {english}")


class Printer(Protocol):
    """Where print data goes."""

    config: PrinterConfig

    def send(self, data: bytes) -> None:
        """Print ``data`` (ZPL or PDF, as :attr:`PrinterConfig.format` says).

        :raises PrintError: unreachable, refused or timed out.
        """

    def check(self) -> str:
        """Say where the printer is, without printing; :raises PrintError: if it is not there."""


def _unreachable(where: str, exc: BaseException) -> PrintError:
    if isinstance(exc, TimeoutError | socket.timeout):
        return PrintError(f"Máy in {where} không trả lời (quá thời gian chờ)",
                          f"printer {where} timed out")
    return PrintError(f"Không kết nối được máy in {where}: {exc}",
                      f"printer {where} unreachable: {exc}")


@dataclass
class TcpPrinter:
    """Raw ZPL to a network printer (JetDirect / RAW, port 9100)."""

    config: PrinterConfig

    @property
    def where(self) -> tuple[str, int]:
        host, _, port = self.config.address.rpartition(":")
        if host and port.isdigit():
            return host, int(port)
        return self.config.address, self.config.port

    def _connect(self) -> socket.socket:
        host, port = self.where
        try:
            return socket.create_connection((host, port), timeout=self.config.timeout)
        except OSError as exc:
            raise _unreachable(f"{host}:{port}", exc) from exc

    def send(self, data: bytes) -> None:
        host, port = self.where
        with self._connect() as conn:
            try:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except OSError as exc:
                raise _unreachable(f"{host}:{port}", exc) from exc

    def check(self) -> str:
        self._connect().close()
        host, port = self.where
        return f"{host}:{port} nhận kết nối / accepts connections"


@dataclass
class SerialPrinter:
    """Raw ZPL to a serial port (a port name, a device path or ``VID:PID``)."""

    config: PrinterConfig

    def _port(self) -> str:
        from .sources import SourceError
        from .sources.serial_source import find_port

        try:
            return find_port(self.config.address)
        except SourceError as exc:
            raise PrintError(f"Không thấy cổng máy in {self.config.address}",
                             str(exc)) from exc

    def send(self, data: bytes) -> None:
        import serial

        port = self._port()
        try:
            with serial.Serial(port, self.config.baudrate, timeout=self.config.timeout,
                               write_timeout=self.config.timeout) as link:
                link.write(data)
                link.flush()
        except serial.SerialTimeoutException as exc:
            raise _unreachable(port, TimeoutError()) from exc
        except (serial.SerialException, OSError) as exc:
            raise _unreachable(port, exc) from exc

    def check(self) -> str:
        import serial

        port = self._port()
        try:
            serial.Serial(port, self.config.baudrate, timeout=0).close()
        except (serial.SerialException, OSError) as exc:
            raise _unreachable(port, exc) from exc
        return f"{port} mở được / opens"


def _bounded(seconds: float, where: str, work: Callable[[], None]) -> None:
    """Run ``work`` (a write that can block, e.g. to an offline USB printer), giving up after
    ``seconds``; the stuck write is left to finish or fail in its own thread."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"print {where}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _unreachable(where, TimeoutError())
    if failure:
        raise failure[0]


@dataclass
class UsbPrinter:
    """Raw ZPL written to the printer's device file (``/dev/usb/lp0``)."""

    config: PrinterConfig

    def _write(self, data: bytes) -> None:
        with open(self.config.address, "wb", buffering=0) as device:
            device.write(data)

    def send(self, data: bytes) -> None:
        path = self.config.address
        try:
            _bounded(self.config.timeout, path, lambda: self._write(data))
        except FileNotFoundError as exc:
            raise PrintError(f"Không thấy máy in USB {path} (chưa cắm hoặc chưa bật?)",
                             f"no USB printer at {path} (unplugged or off?)") from exc
        except PermissionError as exc:
            raise PrintError(f"Không có quyền ghi vào {path} (thêm tài khoản vào nhóm lp)",
                             f"no permission to write {path} (add the user to group lp)") from exc
        except OSError as exc:
            raise _unreachable(path, exc) from exc

    def check(self) -> str:
        path = self.config.address
        if not os.path.exists(path):
            raise PrintError(f"Không thấy máy in USB {path}", f"no USB printer at {path}")
        if not os.access(path, os.W_OK):
            raise PrintError(f"Không có quyền ghi vào {path} (nhóm lp)",
                             f"no permission to write {path} (group lp)")
        return f"{path} ghi được / writable"


def _spool_file(data: bytes, suffix: str) -> Path:
    """Write the job where the print command can read it; old jobs are swept away."""
    folder = user_state_dir() / "print"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("job-*"):
        try:
            if time.time() - old.stat().st_mtime > 3600:
                old.unlink()
        except OSError:
            pass
    fd, name = tempfile.mkstemp(prefix="job-", suffix=suffix, dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(name)


@dataclass
class CupsPrinter:
    """The PDF (or raw ZPL) to a CUPS queue with ``lp`` (configurable: ``lp_command``)."""

    config: PrinterConfig

    def command(self, path: Path) -> list[str]:
        args = shlex.split(self.config.lp_command)
        if self.config.address:
            args += ["-d", self.config.address]
        if self.config.raw:
            args += ["-o", "raw"]
        else:
            # The PDF is exactly the label: never let the driver scale it.
            args += ["-o", "fit-to-page=false", "-o", "print-scaling=none"]
        return [*args, str(path)]

    def send(self, data: bytes) -> None:
        path = _spool_file(data, ".zpl" if self.config.raw else ".pdf")
        queue = self.config.address or "mặc định / default"
        try:
            done = subprocess.run(self.command(path), capture_output=True, text=True,
                                  timeout=self.config.timeout, check=False)
        except FileNotFoundError as exc:
            raise PrintError(f"Không có lệnh in {self.config.lp_command!r} (cài cups-client)",
                             f"print command {self.config.lp_command!r} not found "
                             "(install cups-client)") from exc
        except subprocess.TimeoutExpired as exc:
            raise _unreachable(f"CUPS {queue}", TimeoutError()) from exc
        finally:
            path.unlink(missing_ok=True)
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip()[:300]
            raise PrintError(f"Hàng đợi in {queue} từ chối: {why}",
                             f"print queue {queue} refused the job: {why}")

    def check(self) -> str:
        lp = shlex.split(self.config.lp_command)[0]
        if not (os.path.exists(lp) or _which(lp)):
            raise PrintError(f"Không có lệnh in {lp!r} (cài cups-client)",
                             f"print command {lp!r} not found (install cups-client)")
        queue = self.config.address
        if queue and _which("lpstat"):
            done = subprocess.run(["lpstat", "-p", queue], capture_output=True, text=True,
                                  timeout=self.config.timeout, check=False)
            if done.returncode != 0:
                raise PrintError(f"CUPS không có hàng đợi in {queue}",
                                 f"CUPS has no queue {queue}: {done.stderr.strip()}")
            return done.stdout.strip() or f"{queue}: ok"
        return f"{lp} có sẵn / found" + (f", queue {queue}" if queue else ", default queue")


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


@dataclass
class WindowsPrinter:
    """The PDF to the Windows default printer with the PDF application's "print" verb.

    Windows has no built-in PDF printing: this needs a PDF reader registered for printing
    (e.g. SumatraPDF or Adobe Reader), set to print at actual size. The spool file stays
    an hour, as the reader opens it after this call returns.
    """

    config: PrinterConfig

    def send(self, data: bytes) -> None:  # pragma: no cover - Windows only
        if sys.platform != "win32":
            raise PrintError("Kiểu máy in 'windows' chỉ dùng trên Windows",
                             "printer type 'windows' works on Windows only")
        path = _spool_file(data, ".pdf")
        try:
            os.startfile(str(path), "print")  # type: ignore[attr-defined]
        except OSError as exc:
            raise PrintError(f"Windows không in được tệp PDF (cài phần mềm đọc PDF?): {exc}",
                             f"Windows could not print the PDF (no PDF reader?): {exc}") from exc

    def check(self) -> str:
        if sys.platform != "win32":
            raise PrintError("Kiểu máy in 'windows' chỉ dùng trên Windows",
                             "printer type 'windows' works on Windows only")
        return "máy in mặc định của Windows / the Windows default printer"  # pragma: no cover


_BACKENDS: dict[str, Callable[[PrinterConfig], Printer]] = {
    "tcp": TcpPrinter, "serial": SerialPrinter, "usb": UsbPrinter, "cups": CupsPrinter,
    "windows": WindowsPrinter,
}


def build_printer(config: PrinterConfig) -> Printer:
    """The backend the configuration names."""
    return _BACKENDS[config.type](config)


# --- what to print ------------------------------------------------------------------------------

def roll_layout(config: PrinterConfig) -> Any:
    """The label stock as a :class:`labels.RollLayout`.

    :raises PrintError: an impossible stock (size, resolution or offsets).
    """
    import labels

    try:
        return labels.thermal_roll(config.width_mm, config.height_mm, config.dpi,
                                   offset_x_mm=config.offset_x_mm,
                                   offset_y_mm=config.offset_y_mm)
    except labels.LabelError as exc:
        raise PrintError(f"Khổ nhãn trong cấu hình không dùng được: {exc}",
                         f"the configured label stock is not usable: {exc}") from exc


def layout_spec(config: PrinterConfig) -> str:
    """The stock as the server's ``layout`` parameter (a roll layout as JSON)."""
    layout = roll_layout(config)
    fields = ("label_width_mm", "label_height_mm", "dpi", "min_module_dots", "offset_x_mm",
              "offset_y_mm")
    return json.dumps({"kind": "roll", **{f: getattr(layout, f) for f in fields}})


def fetch_label(client: TrackerClient, config: PrinterConfig, code: str, copies: int) -> bytes:
    """The dossier's label from the server, in the printer's format, on its stock.

    :raises NotFoundError: no such dossier for this device; :raises ClientError: otherwise.
    """
    return client.label(code, config.format, layout=layout_spec(config), copies=copies,
                        with_2d=config.with_2d)


def calibration(config: PrinterConfig) -> bytes:
    """The calibration label for the configured stock, rendered here (no server needed)."""
    import labels

    layout = roll_layout(config)
    if config.format == "zpl":
        return labels.render_calibration_zpl(layout)
    return labels.render_calibration(layout)


def print_dossier(client: TrackerClient, printer: Printer, code: str, copies: int = 1) -> None:
    """Fetch the dossier's label and print it.

    :raises PrintError: the printer failed; :raises ClientError: the server did.
    """
    printer.send(fetch_label(client, printer.config, code, copies))


# --- print jobs from the server -----------------------------------------------------------------

Say = Callable[[bool, str], None]


def console(ok: bool, text: str) -> None:
    """One line on the operator's console: green when printed, red when not."""
    click.secho(f"[{'IN NHÃN' if ok else 'LỖI IN'}] {text}", err=True,
                fg="green" if ok else "red")


class PrintJobPoller:
    """Fetches this device's print jobs, prints each, and reports it printed or failed.

    A job whose report could not be delivered (the server went away after printing) is
    remembered and reported on the next round, never printed twice.
    """

    def __init__(self, client: TrackerClient, printer: Printer, say: Say = console) -> None:
        self.client = client
        self.printer = printer
        self.say = say
        self._unreported: dict[int, tuple[bool, str | None]] = {}

    def _report(self, job_id: int, printed: bool, error: str | None) -> None:
        self._unreported[job_id] = (printed, error)
        try:
            self.client.finish_print_job(job_id, printed, error)
        except NotFoundError:
            pass  # the job is gone: nothing to report to
        except ClientError as exc:
            log.warning("print job %s: report kept for later: %s", job_id, exc)
            return
        self._unreported.pop(job_id, None)

    def poll_once(self) -> int:
        """One round: report what is owed, then print the pending jobs; the jobs printed.

        :raises ClientError: the server could not be asked (the next round tries again).
        """
        for job_id, (printed, error) in list(self._unreported.items()):
            self._report(job_id, printed, error)
        done = 0
        for job in self.client.print_jobs():
            job_id, code = int(job["id"]), str(job.get("code", ""))
            if job_id in self._unreported:
                continue
            copies = int(job.get("copies") or 1)
            try:
                print_dossier(self.client, self.printer, code, copies)
            except PrintError as exc:
                self.say(False, f"{code}: {exc}")
                self._report(job_id, False, str(exc))
                continue
            except (NotFoundError, BatchRejected) as exc:  # this job can never print
                self.say(False, f"{code}: {exc}")
                self._report(job_id, False, str(exc))
                continue
            self.say(True, f"{code} × {copies}: đã in nhãn / label printed")
            self._report(job_id, True, None)
            done += 1
        return done

    def run(self, stop: threading.Event) -> None:
        """Poll every ``poll_seconds`` until ``stop`` is set; no failure ends the loop."""
        while not stop.is_set():
            wait = self.printer.config.poll_seconds
            try:
                self.poll_once()
            except TransientError as exc:
                log.info("print jobs: server not reachable: %s", exc)
                wait = max(wait, exc.retry_after or 0)  # a 429 says how long to keep away
            except ClientError as exc:  # a revoked token: say so, without a traceback a poll
                log.warning("print jobs: %s", exc)
                wait = max(wait, 60.0)
            except Exception:  # the printer or the server misbehaved: keep the agent alive
                log.exception("print jobs: poll failed")
            stop.wait(wait)

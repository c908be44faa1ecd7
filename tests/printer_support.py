"""Stand-ins for the counter's printers that receive real bytes: a raw TCP (port 9100) listener,
a serial pty, and an ``lp`` that keeps what CUPS would have printed."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path


class NetworkPrinter:
    """Accepts raw print jobs on a free port, one job per connection (read to EOF)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.jobs: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
            self.jobs.append(b"".join(chunks))

    def __enter__(self) -> NetworkPrinter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


class SerialPrinter:
    """The printer end of a pseudo-terminal: the agent opens :attr:`port` as a serial port."""

    def __init__(self) -> None:
        import tty

        self.master, slave = os.openpty()
        tty.setraw(slave)  # no newline translation: the ZPL arrives byte for byte
        self.port = os.ttyname(slave)
        self._slave = slave
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.received += os.read(self.master, 65536)
                except OSError:
                    return

    def wait_for_job(self, timeout: float = 30.0) -> bytes:
        """The bytes up to the end of the last complete ``^XZ`` label format."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"^XZ" in self.received:
                time.sleep(0.2)  # the rest of a multi-label job
                return bytes(self.received)
            time.sleep(0.05)
        msg = "no ZPL arrived on the serial port"
        raise AssertionError(msg)

    def __enter__(self) -> SerialPrinter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self.master)
        os.close(self._slave)


def recording_lp(folder: Path, exit_code: int = 0, complaint: str = "") -> Path:
    """An ``lp`` that copies the file it is given into ``folder/printed/`` and its arguments
    into ``folder/args.txt``, or fails with ``complaint``; returns the folder to put on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    printed = folder / "printed"
    printed.mkdir(exist_ok=True)
    script = bin_dir / "lp"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{folder}/args.txt"\n'
        f'if [ {exit_code} -ne 0 ]; then echo "{complaint}" >&2; exit {exit_code}; fi\n'
        'for last; do :; done\n'
        f'cp "$last" "{printed}/"\n'
        'echo "request id is LABELS-1 (1 file(s))"\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir

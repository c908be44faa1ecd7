"""``scanner-agent``: run, status, doctor, test-scan, decode, print and print-test."""

from __future__ import annotations

import functools
import json
import logging
import logging.handlers
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .config import (
    AgentConfig,
    ConfigError,
    load_config,
    parse_printer,
    parse_source,
    user_state_dir,
)

log = logging.getLogger("scanner_agent")


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command shares; the command receives the loaded configuration."""
    options = [
        click.option(
            "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
            help="TOML configuration file (default: the per-user or system file).",
        ),
        click.option("--server", "server_url", help="Tracker server URL, e.g. https://host."),
        click.option("--token", help="Device token (or SCANNER_AGENT_TOKEN)."),
        click.option("--station", help="Station code sent with each scan."),
        click.option(
            "--outbox", type=click.Path(dir_okay=False, path_type=Path),
            help="Outbox SQLite file.",
        ),
        click.option(
            "--source", "sources", multiple=True, metavar="TYPE[:DEVICE]",
            help="Scan source, repeatable: stdin, evdev:/dev/input/by-id/..., evdev:VID:PID, "
            "serial:COM3, serial:VID:PID, camera:0, camera:clip.mp4 (replaces the file's).",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log debug details to the console."),
    ]  # fmt: skip

    @functools.wraps(func)
    def wrapper(config_path: Path | None, server_url: str | None, token: str | None,
                station: str | None, outbox: Path | None, sources: tuple[str, ...],
                **kwargs: Any) -> Any:
        return func(_load(config_path, server_url, token, station, outbox, sources), **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _load(
    config_path: Path | None,
    server_url: str | None,
    token: str | None,
    station: str | None,
    outbox: Path | None,
    sources: tuple[str, ...],
) -> AgentConfig:
    try:
        parsed = tuple(parse_source(s, f"--source {s}") for s in sources)
        return load_config(
            config_path,
            server_url=server_url,
            token=token,
            station=station,
            outbox=outbox,
            sources=parsed or None,
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _setup_logging(config: AgentConfig, verbose: bool, to_file: bool) -> Path | None:
    root = logging.getLogger("scanner_agent")
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(console)
    if not to_file:
        return None
    path = config.log_file or (user_state_dir() / "agent.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=config.log_max_bytes, backupCount=config.log_backups, encoding="utf-8"
    )
    handler.setLevel(getattr(logging, config.log_level.upper(), logging.INFO))
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    return path


def _client(config: AgentConfig) -> Any:
    from .client import TrackerClient

    return TrackerClient(config.server_url, config.token, config.request_timeout)


@click.group()
@click.version_option("0.1.0", prog_name="scanner-agent")
def main() -> None:
    """Read barcode scanners and send each scan to the dossier tracker, never losing one."""


@main.command()
@_common
def run(
    config: AgentConfig,
    verbose: bool,
) -> None:
    """Read the configured scanners and send scans until stopped (Ctrl+C or SIGTERM)."""
    from .agent import Agent
    from .feedback import Feedback
    from .outbox import Outbox
    from .sources import SourceError, build_source

    try:
        config.require_server()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    log_path = _setup_logging(config, verbose, to_file=True)
    try:
        built = [build_source(s) for s in config.sources]
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        if hasattr(signal, "SIGBREAK"):  # Ctrl+Break / service stop on Windows
            signal.signal(signal.SIGBREAK, _stop)
    workers = []
    if config.printer is not None and config.printer.poll_jobs:
        from .printing import PrintJobPoller, build_printer

        # Its own client: the sender's HTTP session stays on the sender's thread.
        workers.append(PrintJobPoller(_client(config), build_printer(config.printer)).run)
    with Outbox(config.outbox) as box:
        agent = Agent(
            config,
            box,
            _client(config),
            Feedback(sound=config.sound, sound_dir=config.sound_dir),
            workers=workers,
        )
        names = ", ".join(s.label for s in built)
        click.echo(
            f"scanner-agent: {names} -> {config.server_url} "
            f"(station {config.station or '-'}; outbox {config.outbox}; log {log_path})",
            err=True,
        )
        try:
            agent.run(built, stop)
        except KeyboardInterrupt:
            stop.set()
        stats = box.stats()
    if stats.pending:
        click.echo(f"{stats.pending} scan(s) still queued; they will be sent on the next run.",
                   err=True)  # fmt: skip


def _age(iso: str | None) -> str:
    if not iso:
        return "-"
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    seconds = max(0.0, time.time() - then.timestamp())
    if seconds < 120:
        span = f"{seconds:.0f} s"
    elif seconds < 7200:
        span = f"{seconds / 60:.0f} min"
    elif seconds < 172800:
        span = f"{seconds / 3600:.1f} h"
    else:
        span = f"{seconds / 86400:.1f} days"
    return f"{iso} ({span} ago)"


@main.command()
@_common
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(
    config: AgentConfig,
    verbose: bool,
    as_json: bool,
) -> None:
    """Queue depth, oldest pending scan, last sync, last error and refused scans."""
    from .outbox import Outbox

    if not config.outbox.exists():
        raise click.ClickException(f"no outbox at {config.outbox}: the agent has not run yet")
    with Outbox(config.outbox) as box:
        stats = box.stats()
        rejected = box.recent_rejected(5)
    if as_json:
        data = dict(stats.__dict__)
        data["recent_rejected"] = [
            {"seq": r.seq, "code": r.code, "reason": r.result_reason, "message": r.result_message}
            for r in rejected
        ]
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"outbox:          {config.outbox}")
    click.echo(f"device id:       {stats.device_id}")
    click.echo(f"queued:          {stats.pending}")
    click.echo(f"oldest queued:   {_age(stats.oldest_pending_at)}")
    if stats.pending and stats.next_attempt_at:
        wait = stats.next_attempt_at - time.time()
        click.echo(f"next attempt:    {'now' if wait <= 0 else f'in {wait:.0f} s'}")
    click.echo(f"delivered:       {stats.delivered}")
    click.echo(f"refused:         {stats.rejected}")
    click.echo(f"last sync:       {_age(stats.last_sync_at)}")
    error = f"{stats.last_error} at {stats.last_error_at}" if stats.last_error else "-"
    click.echo(f"last error:      {error}")
    for r in rejected:
        click.echo(f"  refused #{r.seq} {r.code}: {r.result_reason} {r.result_message or ''}")


@main.command("test-scan")
@_common
@click.argument("code")
@click.option("--dry-run", is_flag=True, help="Only say how the code is recognized.")
def test_scan(
    config: AgentConfig,
    verbose: bool,
    code: str,
    dry_run: bool,
) -> None:
    """Queue CODE as if it had been scanned, send it, and show the server's answer."""
    from .agent import Agent
    from .codes import CodeRules, Unrecognized
    from .feedback import Feedback
    from .outbox import Outbox
    from .sources import RawScan

    _setup_logging(config, verbose, to_file=False)
    found = CodeRules(config.official_code_pattern).recognize(code)
    if dry_run or isinstance(found, Unrecognized):
        if isinstance(found, Unrecognized):
            click.echo(f"not sent: {found.code!r} is {found.reason} ({found.message})")
            sys.exit(2)
        click.echo(f"{found.code}: {found.kind}")
        return
    if found.is_card:
        click.echo(f"not sent: {found.code} is a {found.kind} card; it acts on the station "
                   "session of a running agent (scanner-agent run)")
        sys.exit(2)
    try:
        config.require_server()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    with Outbox(config.outbox) as box:
        agent = Agent(config, box, _client(config), Feedback(sound=config.sound))
        row = agent.handle(RawScan(code, "test-scan"))
        report = agent.syncer.drain(max_batches=50)
        agent.expire_live(everything=True)
        if report.error:
            click.echo(f"server: {report.error}", err=True)
        assert row is not None
        final = box.get(row.seq)
    if final is not None and final.status == "pending":
        sys.exit(3)
    if final is not None and final.status == "rejected":
        sys.exit(4)


@main.command()
@_common
def doctor(
    config: AgentConfig,
    verbose: bool,
) -> None:
    """List scanners, serial ports and cameras; check the outbox, the printer, the server and
    the token."""
    from .doctor import run_doctor

    _setup_logging(config, verbose, to_file=False)
    problems = run_doctor(config, click.echo)
    if problems:
        raise click.ClickException(f"{problems} problem(s) found")


def _printer_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--printer", "printer_spec", metavar="TYPE[:ADDRESS]",
        help="Printer instead of the config's (keeping its label stock): tcp:HOST[:PORT], "
        "serial:PORT, usb:/dev/usb/lp0, cups[:QUEUE], windows.",
    )(func)  # fmt: skip


def _printer(config: AgentConfig, spec: str | None) -> Any:
    """The configured printer, or the one ``--printer`` names on the configured stock."""
    from dataclasses import asdict

    from .printing import build_printer

    base = config.printer
    if spec:
        kind, _, address = spec.partition(":")
        table = asdict(base) if base is not None else {}
        try:
            base = parse_printer(table | {"type": kind, "address": address}, "--printer")
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    if base is None:
        raise click.ClickException(
            "no printer configured: add a [printer] table to the config file or pass --printer "
            "(chưa cấu hình máy in)")
    return build_printer(base)


@main.command("print")
@_common
@_printer_option
@click.argument("code")
@click.option("--copies", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Copies of the label.")
def print_label(
    config: AgentConfig,
    verbose: bool,
    printer_spec: str | None,
    code: str,
    copies: int,
) -> None:
    """Fetch the label of dossier CODE (code or tracking number) and print it here."""
    from .client import ClientError
    from .printing import PrintError, console, print_dossier

    _setup_logging(config, verbose, to_file=False)
    try:
        config.require_server()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    printer = _printer(config, printer_spec)
    client = _client(config)
    try:
        print_dossier(client, printer, code.strip(), copies)
    except (PrintError, ClientError) as exc:
        console(False, f"{code}: {exc}")
        sys.exit(1)
    finally:
        client.close()
    console(True, f"{code} × {copies}: đã in nhãn / label printed")


@main.command("print-test")
@_common
@_printer_option
def print_test(
    config: AgentConfig,
    verbose: bool,
    printer_spec: str | None,
) -> None:
    """Print a calibration label (frame, 1 mm rulers, a Code 128 and a QR code, the stock and
    resolution) to check darkness, offset and size; needs no server."""
    from .printing import PrintError, calibration, console

    _setup_logging(config, verbose, to_file=False)
    printer = _printer(config, printer_spec)
    stock = printer.config
    try:
        printer.send(calibration(stock))
    except PrintError as exc:
        console(False, f"print-test: {exc}")
        sys.exit(1)
    console(True, f"nhãn căn chỉnh {stock.width_mm:g}×{stock.height_mm:g} mm, {stock.dpi} dpi "
                  "/ calibration label printed")


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image and line.")
def decode(images: tuple[str, ...], as_json: bool) -> None:
    """Decode IMAGES with the camera source's decoder chain (raw, unfiltered texts)."""
    from .decode import DecoderUnavailable, decode_path

    failed = 0
    for path in images:
        record: dict[str, Any] = {"path": path, "codes": []}
        try:
            record["codes"] = [d.text for d in decode_path(path)]
        except DecoderUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
        except (OSError, ValueError) as exc:
            record["error"] = str(exc)
            failed += 1
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
        elif "error" in record:
            click.echo(f"{path}: error: {record['error']}")
        else:
            click.echo(f"{path}: {' | '.join(record['codes']) or '(nothing)'}")
    if failed == len(images):
        sys.exit(1)

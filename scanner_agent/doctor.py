"""``scanner-agent doctor``: what is connected, and whether the server and token work."""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from app.station import action_label

from .config import AgentConfig

Echo = Callable[[str], None]


def _section(echo: Echo, title: str) -> None:
    echo("")
    echo(f"== {title}")


def check_input_devices(echo: Echo) -> int:
    """List keyboards (possible keyboard-wedge scanners) readable through evdev."""
    _section(echo, "input devices (keyboard-wedge scanners, evdev)")
    if not sys.platform.startswith("linux"):
        echo("  evdev is Linux only; on Windows use a serial (USB-COM) scanner or stdin")
        return 0
    from .sources import SourceError
    from .sources.evdev_source import list_keyboards

    try:
        devices = list_keyboards()
    except SourceError as exc:
        echo(f"  unavailable: {exc}")
        return 0
    if not devices:
        echo("  none readable (no keyboards, or no permission on /dev/input/event*)")
    for d in devices:
        echo(f"  {d['path']}  {d.get('vid_pid', '?')}  {d['name']}  {d.get('by_id', '')}")
    return 0


def check_serial_ports(echo: Echo) -> int:
    """List serial ports (USB-COM scanners)."""
    _section(echo, "serial ports")
    from .sources import SourceError
    from .sources.serial_source import list_ports

    try:
        ports = list_ports()
    except SourceError as exc:
        echo(f"  unavailable: {exc}")
        return 0
    if not ports:
        echo("  none")
    for p in ports:
        serial_number = f" serial {p['serial_number']}" if p["serial_number"] else ""
        echo(f"  {p['device']}  {p['vid_pid'] or '?'}{serial_number}  {p['description']}")
    return 0


def check_cameras(echo: Echo) -> int:
    """List cameras and say whether the decoders are installed."""
    _section(echo, "cameras and decoders")
    missing = [
        name for name in ("cv2", "zxingcpp", "numpy") if importlib.util.find_spec(name) is None
    ]
    if missing:
        echo(f"  camera extra not installed (missing {', '.join(missing)})")
        return 0
    from .decode import _pyzbar

    echo("  zxing-cpp: ok;  pyzbar: " + ("ok" if _pyzbar() else "missing (install libzbar0)"))
    if sys.platform.startswith("linux"):
        nodes = sorted(glob.glob("/dev/video*"))
        echo("  " + (", ".join(nodes) if nodes else "no /dev/video* devices"))
        return 0
    import cv2

    for index in range(4):
        cap = cv2.VideoCapture(index, cv2.CAP_DSHOW if os.name == "nt" else cv2.CAP_ANY)
        if cap.isOpened():
            echo(f"  camera {index}: opens")
        cap.release()
    return 0


def check_configured_sources(config: AgentConfig, echo: Echo) -> int:
    """Check each configured source's device exists (without grabbing it)."""
    _section(echo, "configured sources")
    from .sources import SourceError

    problems = 0
    for s in config.sources:
        try:
            if s.type == "serial":
                from .sources.serial_source import find_port

                echo(f"  {s.label}: port {find_port(s.device)}")
            elif s.type == "evdev":
                from .sources.evdev_source import find_device

                echo(f"  {s.label}: device {find_device(s.device)}")
            elif s.type == "camera" and not s.device.isdigit():
                ok = os.path.exists(s.device)
                echo(f"  {s.label}: " + ("file found" if ok else "FILE NOT FOUND"))
                problems += not ok
            else:
                echo(f"  {s.label}: ok")
        except SourceError as exc:
            echo(f"  {s.label}: PROBLEM: {exc}")
            problems += 1
    return problems


def check_outbox(config: AgentConfig, echo: Echo) -> int:
    """Open (or create) the outbox and report its queue."""
    _section(echo, "outbox")
    from .outbox import Outbox

    try:
        with Outbox(config.outbox) as box:
            stats = box.stats()
    except Exception as exc:  # any reason the file cannot be used
        echo(f"  PROBLEM: cannot use {config.outbox}: {exc}")
        return 1
    echo(f"  {config.outbox}: {stats.pending} queued, {stats.rejected} refused")
    return 0


def check_server(config: AgentConfig, echo: Echo) -> int:
    """Reach the server and prove the token with ``GET /api/v1/stations``."""
    _section(echo, "server")
    if not config.server_url:
        echo("  PROBLEM: no server URL configured (server_url / --server)")
        return 1
    if not config.token:
        echo("  PROBLEM: no device token configured (token / SCANNER_AGENT_TOKEN / --token)")
        return 1
    from .client import AuthError, ClientError, TrackerClient

    client = TrackerClient(config.server_url, config.token, min(config.request_timeout, 10.0))
    try:
        stations = client.stations()
    except AuthError as exc:
        echo(f"  PROBLEM: {exc}")
        echo("  ask the administrator for a new device token and put it in the config file")
        return 1
    except ClientError as exc:
        echo(f"  PROBLEM: {exc}")
        return 1
    finally:
        client.close()
    echo(f"  {config.server_url}: reachable, token accepted, {len(stations)} station(s)")
    if config.station:
        codes = {str(s.get("code")) for s in stations}
        if config.station not in codes:
            echo(f"  PROBLEM: station {config.station!r} is not one the server knows: "
                 f"{', '.join(sorted(codes)) or 'none'}")  # fmt: skip
            return 1
        echo(f"  station {config.station}: known")
    return check_default_action(config, stations, echo)


def check_default_action(config: AgentConfig, stations: list[dict[str, Any]], echo: Echo) -> int:
    """Say how the station session is set up, and check the server lets this device scan the
    default action at its station (the first one the server lists when none is configured)."""
    station = next((s for s in stations if s.get("code") == config.station),
                   stations[0] if stations and not config.station else None)
    minutes = config.badge_session_minutes
    length = f"{minutes:g} min without a scan" if minutes else "no expiry"
    action = config.default_action or "transfer_in"
    echo(f"  station session: default action {action} ({action_label(action)}); "
         f"badge session {length}")
    allowed = station.get("actions") if station else None
    if not isinstance(allowed, list) or action in allowed:
        return 0  # an older server lists no actions: nothing to check against
    echo(f"  PROBLEM: the server does not let this device scan {action} at "
         f"{station.get('code') if station else '?'} (it may: {', '.join(allowed) or 'nothing'});"
         " change default_action")
    return 1


def check_printer(config: AgentConfig, echo: Echo) -> int:
    """Say whether the configured printer is there (without printing) and its label stock."""
    _section(echo, "printer")
    if config.printer is None:
        echo("  none configured (add a [printer] table to print labels at this station)")
        return 0
    from .printing import PrintError, build_printer, layout_spec

    p = config.printer
    echo(f"  {p.type} {p.address or '(default)'}: sends {p.format.upper()}, stock "
         f"{p.width_mm:g}×{p.height_mm:g} mm at {p.dpi} dpi")
    try:
        layout_spec(p)
        echo(f"  {build_printer(p).check()}")
    except PrintError as exc:
        echo(f"  PROBLEM: {exc}")
        return 1
    return 0


def run_doctor(config: AgentConfig, echo: Echo) -> int:
    """Run every check; return the number of problems."""
    where = config.source_path or "none (defaults and flags only)"
    echo(f"config file: {where}")
    problems = 0
    problems += check_input_devices(echo)
    problems += check_serial_ports(echo)
    problems += check_cameras(echo)
    problems += check_configured_sources(config, echo)
    problems += check_outbox(config, echo)
    problems += check_printer(config, echo)
    problems += check_server(config, echo)
    echo("")
    echo("all good" if not problems else f"{problems} problem(s)")
    return problems

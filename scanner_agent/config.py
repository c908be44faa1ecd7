"""Agent configuration: a TOML file, overridden by environment variables and CLI flags.

Lookup order for the file: ``--config``, ``$SCANNER_AGENT_CONFIG``, the per-user file
(``%APPDATA%\\scanner-agent\\config.toml`` on Windows, ``$XDG_CONFIG_HOME/scanner-agent/
config.toml`` elsewhere), then ``/etc/scanner-agent/config.toml`` (not on Windows).
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from app.codes import SCAN_ACTIONS, SEND

APP_NAME = "scanner-agent"
SOURCE_TYPES = ("stdin", "evdev", "serial", "camera")
PRINTER_TYPES = ("tcp", "serial", "usb", "cups", "windows")


class ConfigError(ValueError):
    """The configuration file or a flag is wrong; the message says which and how."""


def user_config_dir() -> Path:
    """The per-user configuration folder."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / APP_NAME
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_NAME


def user_state_dir() -> Path:
    """Where the outbox and logs go by default."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP_NAME


def config_candidates() -> list[Path]:
    """Configuration files looked for when ``--config`` is not given, in order."""
    found = []
    env = os.environ.get("SCANNER_AGENT_CONFIG")
    if env:
        found.append(Path(env))
    found.append(user_config_dir() / "config.toml")
    if sys.platform != "win32":
        found.append(Path("/etc") / APP_NAME / "config.toml")
    return found


@dataclass(frozen=True)
class SourceConfig:
    """One scan source.

    :param type: ``stdin``, ``evdev``, ``serial`` or ``camera``.
    :param name: a label used in logs and for double-read detection (defaults to type:device).
    :param device: evdev path or ``VID:PID``; serial port name, ``VID:PID`` or serial number;
        camera index or video file path.
    """

    type: str
    device: str = ""
    name: str = ""
    # evdev
    grab: bool = True
    max_key_gap_ms: float = 50.0
    min_length: int = 4
    # serial
    baudrate: int = 9600
    host_ack: bool = False
    ack_good: str = "\x1b7"
    ack_bad: str = "\x1b8"
    # camera
    width: int = 1280
    height: int = 720
    decode_hz: float = 10.0
    rearm_seconds: float = 2.0
    loop: bool = False

    @property
    def label(self) -> str:
        """The name shown in logs, e.g. ``serial:/dev/ttyACM0``."""
        if self.name:
            return self.name
        return f"{self.type}:{self.device}" if self.device else self.type


@dataclass(frozen=True)
class PrinterConfig:
    """The label printer at this station (the ``[printer]`` table).

    :param type: ``tcp`` (raw ZPL to a network printer, port 9100), ``serial`` (raw ZPL to a
        serial port), ``usb`` (raw ZPL to a printer device file such as ``/dev/usb/lp0``),
        ``cups`` (the PDF, or ZPL with ``raw``, through ``lp``), ``windows`` (the PDF to the
        default printer through the PDF application's "print" verb).
    :param address: ``host`` or ``host:port`` (tcp); port name or ``VID:PID`` (serial);
        device path (usb); queue name (cups; empty: the default printer).
    """

    type: str
    address: str = ""
    port: int = 9100
    baudrate: int = 9600
    timeout: float = 10.0
    # The label stock, sent to the server's label endpoint.
    width_mm: float = 50.0
    height_mm: float = 30.0
    dpi: int = 203
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0
    with_2d: bool = False
    # cups: the command (a path, or a command with options) and raw ZPL instead of the PDF.
    lp_command: str = "lp"
    raw: bool = False
    # Print jobs queued on the server for this device (the counter page, the API).
    poll_jobs: bool = True
    poll_seconds: float = 5.0

    @property
    def format(self) -> str:
        """``zpl`` or ``pdf``: what the printer is sent."""
        if self.type in ("tcp", "serial", "usb") or (self.type == "cups" and self.raw):
            return "zpl"
        return "pdf"


@dataclass(frozen=True)
class AgentConfig:
    """Everything ``scanner-agent`` needs; see the README for the file format."""

    server_url: str = ""
    token: str = ""
    station: str = ""
    # The station's action for a file scan no action card chose ("": the server's transfer_in).
    default_action: str = ""
    # A badge session (and an action a card chose) ends after this many minutes without a
    # scan at the station (0: only a log-out card or another badge ends it).
    badge_session_minutes: float = 30.0
    # The person a scan is attributed to when no badge session is active ("": nobody).
    actor: str = ""
    outbox: Path = field(default_factory=lambda: user_state_dir() / "outbox.db")
    sources: tuple[SourceConfig, ...] = (SourceConfig("stdin"),)
    batch_size: int = 500
    request_timeout: float = 10.0
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    double_read_seconds: float = 3.0
    # Optional narrowing: a regex the site's official codes must match as a whole. Empty: every
    # code in the official-code grammar (app.codes), which all offices' patterns are held to.
    official_code_pattern: str = ""
    sound: bool = True
    sound_dir: Path | None = None
    log_file: Path | None = None
    log_level: str = "INFO"
    log_max_bytes: int = 1_000_000
    log_backups: int = 5
    printer: PrinterConfig | None = None
    source_path: Path | None = None

    def require_server(self) -> None:
        """Raise :class:`ConfigError` unless a server URL and a token are configured."""
        if not self.server_url:
            msg = "no server URL: set server_url in the config file or pass --server"
            raise ConfigError(msg)
        if not self.token:
            msg = "no device token: set token in the config file, SCANNER_AGENT_TOKEN or --token"
            raise ConfigError(msg)


_TOP_KEYS = {f.name for f in fields(AgentConfig)} - {"sources", "source_path", "printer"}
_ALIASES = {"action": "default_action"}  # the key's older name
MAX_SESSION_MINUTES = 24 * 60


def check_session(values: dict[str, Any], where: str) -> None:
    """Check the station-session keys: a default action the server knows (and that needs no
    destination), and a session length from 0 to a day.

    :raises ConfigError: naming the key.
    """
    action = values.get("default_action")
    if action:
        action = values["default_action"] = str(action).strip().lower()
        if action not in SCAN_ACTIONS:
            msg = (f"{where}: default_action {action!r} is not an action the server knows "
                   f"({', '.join(SCAN_ACTIONS)})")
            raise ConfigError(msg)
        if action == SEND:
            msg = (f"{where}: default_action cannot be send, which needs a destination: "
                   "scan a send card printed with `tracker cards --send-to CODE`")
            raise ConfigError(msg)
    minutes = values.get("badge_session_minutes")
    if minutes is not None and not 0 <= minutes <= MAX_SESSION_MINUTES:
        msg = (f"{where}: badge_session_minutes must be between 0 (no expiry) and "
               f"{MAX_SESSION_MINUTES}, got {minutes:g}")
        raise ConfigError(msg)
_SOURCE_KEYS = {f.name for f in fields(SourceConfig)}
_PRINTER_KEYS = {f.name for f in fields(PrinterConfig)}


def _coerce(cls: type, key: str, value: Any, where: str) -> Any:
    expected = {f.name: f.type for f in fields(cls)}[key]
    if expected in ("Path", "Path | None"):
        return Path(os.path.expandvars(os.path.expanduser(str(value))))
    if expected == "bool" and not isinstance(value, bool):
        msg = f"{where}: {key} must be true or false, got {value!r}"
        raise ConfigError(msg)
    if expected == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        msg = f"{where}: {key} must be an integer, got {value!r}"
        raise ConfigError(msg)
    if expected == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{where}: {key} must be a number, got {value!r}"
            raise ConfigError(msg)
        return float(value)
    if expected == "str":
        return str(value)
    return value


def parse_source(spec: str | dict[str, Any], where: str = "source") -> SourceConfig:
    """Build a :class:`SourceConfig` from a TOML table or a ``type[:device]`` flag.

    :raises ConfigError: on an unknown type or key.
    """
    if isinstance(spec, str):
        kind, _, device = spec.partition(":")
        spec = {"type": kind, "device": device}
    kind = str(spec.get("type", ""))
    if kind not in SOURCE_TYPES:
        msg = f"{where}: unknown source type {kind!r} (expected one of {', '.join(SOURCE_TYPES)})"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in _SOURCE_KEYS:
            msg = f"{where}: unknown key {key!r}"
            raise ConfigError(msg)
        values[key] = _coerce(SourceConfig, key, value, where)
    if kind in ("evdev", "serial") and not values.get("device"):
        msg = f"{where}: a {kind} source needs a device (path, name or VID:PID)"
        raise ConfigError(msg)
    if kind == "camera" and not values.get("device"):
        values["device"] = "0"
    return SourceConfig(**values)


def parse_printer(spec: dict[str, Any], where: str = "printer") -> PrinterConfig:
    """Build a :class:`PrinterConfig` from the ``[printer]`` table.

    :raises ConfigError: on an unknown type or key, or a missing address.
    """
    if not isinstance(spec, dict):
        msg = f"{where}: use a [printer] table"
        raise ConfigError(msg)
    kind = str(spec.get("type", ""))
    if kind not in PRINTER_TYPES:
        msg = f"{where}: unknown printer type {kind!r} (expected one of {', '.join(PRINTER_TYPES)})"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in _PRINTER_KEYS:
            msg = f"{where}: unknown key {key!r}"
            raise ConfigError(msg)
        values[key] = _coerce(PrinterConfig, key, value, where)
    if kind in ("tcp", "serial", "usb") and not values.get("address"):
        msg = f"{where}: a {kind} printer needs an address (host, port name or device path)"
        raise ConfigError(msg)
    if values.get("dpi", 203) not in (203, 300, 600):
        msg = f"{where}: dpi must be 203, 300 or 600, got {values['dpi']!r}"
        raise ConfigError(msg)
    for key in ("timeout", "poll_seconds", "width_mm", "height_mm"):
        if key in values and not values[key] > 0:
            msg = f"{where}: {key} must be positive, got {values[key]!r}"
            raise ConfigError(msg)
    return PrinterConfig(**values)


def from_mapping(data: dict[str, Any], where: str = "config") -> AgentConfig:
    """Build an :class:`AgentConfig` from parsed TOML.

    :raises ConfigError: on unknown keys or wrong types, naming the key.
    """
    values: dict[str, Any] = {}
    sources: list[SourceConfig] = []
    for key, value in data.items():
        if key == "source":
            if not isinstance(value, list):
                msg = f"{where}: use [[source]] tables for sources"
                raise ConfigError(msg)
            for i, table in enumerate(value):
                sources.append(parse_source(table, f"{where}: source #{i + 1}"))
        elif key == "printer":
            values["printer"] = parse_printer(value, f"{where}: [printer]")
        elif key in _TOP_KEYS or key in _ALIASES:
            name = _ALIASES.get(key, key)
            if name in values:
                msg = f"{where}: give {name} once (action is its older name)"
                raise ConfigError(msg)
            values[name] = _coerce(AgentConfig, name, value, where)
        else:
            msg = f"{where}: unknown key {key!r}"
            raise ConfigError(msg)
    if sources:
        values["sources"] = tuple(sources)
    if "server_url" in values:
        values["server_url"] = values["server_url"].rstrip("/")
    check_session(values, where)
    if values.get("official_code_pattern"):
        try:
            re.compile(values["official_code_pattern"])
        except re.error as exc:
            msg = f"{where}: official_code_pattern is not a valid regex: {exc}"
            raise ConfigError(msg) from exc
    return AgentConfig(**values)


def load_config(path: Path | None = None, **overrides: Any) -> AgentConfig:
    """Read the configuration file (if any) and apply environment and flag overrides.

    :param path: an explicit file (``--config``); it must exist.
    :param overrides: non-``None`` values replace the file's (``sources`` replaces the list).
    :raises ConfigError: if an explicit file is missing or any file is invalid.
    """
    data: dict[str, Any] = {}
    chosen: Path | None = None
    if path is not None:
        if not path.is_file():
            msg = f"config file not found: {path}"
            raise ConfigError(msg)
        chosen = path
    else:
        chosen = next((p for p in config_candidates() if p.is_file()), None)
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            msg = f"{chosen}: not valid TOML: {exc}"
            raise ConfigError(msg) from exc
    config = from_mapping(data, str(chosen) if chosen else "config")
    env_token = os.environ.get("SCANNER_AGENT_TOKEN")
    if env_token and not overrides.get("token"):
        config = replace(config, token=env_token)
    changes = {k: v for k, v in overrides.items() if v is not None and v != ()}
    if "server_url" in changes:
        changes["server_url"] = str(changes["server_url"]).rstrip("/")
    return replace(config, source_path=chosen, **changes)

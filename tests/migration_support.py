"""Load a migration's module by its revision, to call its backfill in a test."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def migration(revision: str) -> ModuleType:
    """The module of migration ``revision`` (e.g. ``"0011"``), loaded from its file."""
    versions = Path(__file__).parent.parent / "migrations" / "versions"
    path = next(versions.glob(f"*_{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Package boundaries: the agent uses only the server's shared, standard-library-only modules
(the code rules and the station session), never the reverse."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The modules of ``app`` the agent may import: standard library only, loading nothing else.
SHARED = ("app.codes", "app.station")


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (``from a import b`` yields ``a`` and ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _sources(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    return files


def test_the_agent_imports_nothing_of_the_server_but_the_shared_modules() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources("scanner_agent")
        for line, name in _imports(path)
        if name.split(".")[0] == "app" and name != "app"
        and not any(name == m or name.startswith(m + ".") for m in SHARED)
    ]
    assert bad == []


def test_the_server_never_imports_the_agent() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources("app")
        for line, name in _imports(path)
        if name.split(".")[0] == "scanner_agent"
    ]
    assert bad == []


def test_the_shared_modules_import_only_the_standard_library_and_each_other() -> None:
    for module in SHARED:
        names = {name for _, name in _imports(ROOT / (module.replace(".", "/") + ".py"))}
        tops = {name.split(".")[0] for name in names} - {"__future__", "app"}
        assert tops <= set(sys.stdlib_module_names), module
        inside = {name for name in names if name.split(".")[0] == "app"}
        assert all(any(name == m or name.startswith(m + ".") for m in SHARED)
                   for name in inside), (module, inside)


def test_importing_the_shared_modules_loads_no_other_part_of_the_server() -> None:
    code = (
        f"import sys, {', '.join(SHARED)}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('app', 'flask', 'werkzeug', 'sqlalchemy', 'labels', 'jinja2')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == str(sorted(["app", *SHARED]))

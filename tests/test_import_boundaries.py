"""Package boundaries: the agent uses only the server's shared code rules, never the reverse."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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


def test_the_agent_imports_nothing_of_the_server_but_the_shared_code_rules() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _sources("scanner_agent")
        for line, name in _imports(path)
        if name.split(".")[0] == "app" and name not in ("app", "app.codes")
        and not name.startswith("app.codes.")
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


def test_the_shared_code_rules_import_only_the_standard_library() -> None:
    tops = {name.split(".")[0] for _, name in _imports(ROOT / "app" / "codes.py")}
    assert tops - {"__future__"} <= set(sys.stdlib_module_names)


def test_importing_the_code_rules_loads_no_other_part_of_the_server() -> None:
    code = (
        "import sys, app.codes; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('app', 'flask', 'werkzeug', 'sqlalchemy', 'labels', 'jinja2')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "['app', 'app.codes']"

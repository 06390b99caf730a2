"""Runtime code never imports dev tools: what runs in production (actions, the channel, settings, clients,
phrasing, the conversation log) must not depend on the sandboxes, the local stack, the simulator, the
model cache or the throwaway-database helper."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, Tuple

from rasa_project.settings import PROJECT_ROOT

DEV_PACKAGES = ("rasa_project.devtools", "rasa_project.sandboxes")
RUNTIME_ROOTS = ("actions", "connectors", "rasa_project")
# The CLI imports dev tools only inside its developer commands (run-local, shell, model, validate, nlu-check).
ALLOWED = {Path("rasa_project/__main__.py")}


def _imports(path: Path) -> Iterator[Tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _runtime_files() -> Iterator[Path]:
    for root in RUNTIME_ROOTS:
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT)
            if relative.parts[:2] in (("rasa_project", "devtools"), ("rasa_project", "sandboxes")):
                continue
            if relative not in ALLOWED:
                yield path


def test_runtime_modules_never_import_dev_tools() -> None:
    offenders = [f"{path.relative_to(PROJECT_ROOT)}:{line} imports {module}"
                 for path in _runtime_files() for line, module in _imports(path)
                 if module.startswith(DEV_PACKAGES)]
    assert offenders == []


def test_the_cli_imports_dev_tools_only_inside_functions() -> None:
    tree = ast.parse((PROJECT_ROOT / "rasa_project/__main__.py").read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    modules = [n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module]
    assert not [m for m in modules if m.startswith(DEV_PACKAGES)]

"""docs/architecture.md names every module of the runtime and the dev tools, so the tree a newcomer reads
is the tree on disk (sandboxes are listed by package)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from rasa_project.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "architecture.md"


def _modules() -> List[Path]:
    found = []
    for root in ("actions", "connectors", "rasa_project"):
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT)
            if path.name == "__init__.py" or "migrations" in relative.parts:
                continue
            if relative.parts[:2] == ("rasa_project", "sandboxes"):
                continue
            if relative.parts[:2] in (("rasa_project", "booking_api"), ("rasa_project", "phrasing"),
                                      ("rasa_project", "conversation_log")):
                continue  # listed on their package's line
            found.append(relative)
    return found


def test_every_module_has_its_line() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [str(path) for path in _modules() if f" {path.name} " not in text and f" {path.name}\n" not in text]
    assert missing == []


def test_grouped_packages_name_each_of_their_modules() -> None:
    text = DOC.read_text(encoding="utf-8")
    for package in ("booking_api", "phrasing", "conversation_log"):
        for path in sorted((PROJECT_ROOT / "rasa_project" / package).glob("*.py")):
            if path.name != "__init__.py":
                assert path.name in text, f"rasa_project/{package}/{path.name}"


def test_every_sandbox_is_listed() -> None:
    text = DOC.read_text(encoding="utf-8")
    for sandbox in sorted(p.name for p in (PROJECT_ROOT / "rasa_project" / "sandboxes").iterdir()
                          if p.is_dir() and (p / "__init__.py").exists()):
        assert f"{sandbox}/" in text, sandbox

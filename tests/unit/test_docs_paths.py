"""Every file or folder the docs cite exists: a newcomer following README, CONTRIBUTING, docs/ or a
package docstring must never look for a file that is not there."""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

from rasa_project.settings import PROJECT_ROOT

DOCS = ["README.md", "CONTRIBUTING.md", "bench/README.md", *[str(p.relative_to(PROJECT_ROOT))
                                                           for p in sorted((PROJECT_ROOT / "docs").glob("*.md"))]]
TOP_LEVEL = ("actions/", "connectors/", "rasa_project/", "tests/", "bench/", "docs/", "data/", ".ci/")
# `code` spans that name a repository path: they start at a top-level folder or are a root file.
_FOLDERS = "|".join(map(re.escape, TOP_LEVEL))
CITED = re.compile(rf"`((?:{_FOLDERS})[\w./*<>-]*|[\w.-]+\.(?:yml|yaml|md|toml|lock|cfg))`")
ROOT_FILES_OK = {"models/", "var/", "results/"}  # created by running the project


def _cited() -> Iterator[Tuple[str, str]]:
    for doc in DOCS:
        for match in CITED.finditer((PROJECT_ROOT / doc).read_text(encoding="utf-8")):
            yield doc, match.group(1)


def _exists(cited: str) -> bool:
    path = cited.split(":")[0].rstrip(".,")
    if "<" in path:  # a placeholder such as tests/<area>/support.py: its folder must exist
        path = path.split("<")[0]
    if "*" in path:
        return any(PROJECT_ROOT.glob(path))
    return (PROJECT_ROOT / path).exists() or path in ROOT_FILES_OK


def test_every_cited_path_exists() -> None:
    missing: List[str] = [f"{doc}: `{cited}`" for doc, cited in _cited() if not _exists(cited)]
    assert missing == []

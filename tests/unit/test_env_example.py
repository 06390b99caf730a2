"""`.env.example` lists every setting with its real default and no path of this machine."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Dict

from rasa_project.settings import PROJECT_ROOT, Settings

LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def _example() -> Dict[str, str]:
    values: Dict[str, str] = {}
    for line in (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = LINE.match(line.strip())
        if match:
            assert match.group(1) not in values, f"{match.group(1)} twice"
            values[match.group(1)] = match.group(2)
    return values


def _rendered(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def test_every_setting_is_listed_once_and_nothing_else() -> None:
    assert set(_example()) == {f.name.upper() for f in fields(Settings)}


def test_each_value_is_the_default_and_reads_back_as_it() -> None:
    example = _example()
    for f in fields(Settings):
        default = _rendered(f.default)
        if str(PROJECT_ROOT) in default:  # a file in this checkout: left empty (= the default) in the example
            assert example[f.name.upper()] == "", f.name
        else:
            assert example[f.name.upper()] == default, f.name
    assert Settings.from_env(example) == Settings()


def test_no_machine_path() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert str(PROJECT_ROOT) not in text and "/root/" not in text and "/home/" not in text

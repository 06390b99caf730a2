"""Match what the client typed to the catalogue: services, packages, bookings. Pure functions."""

from __future__ import annotations

import re
from typing import Callable, Sequence, TypeVar

from rasa_project.spanish_text import ORDINALS, fold

T = TypeVar("T")


def comparable(text: str) -> str:
    """Folded (no accents, lower-case), punctuation as spaces: how we compare what people type with names."""
    return " ".join(re.sub(r"[^a-z0-9@.\-]+", " ", fold(text)).split())


def pick_by_position(text: str, options: Sequence[T]) -> T | None:
    """'2', 'la 2', 'el segundo', 'la última' → that option (1-based), else None."""
    words = comparable(text).replace(".", " ").split()
    for word in words:
        if word.isdigit() and 1 <= int(word) <= len(options):
            return options[int(word) - 1]
        if word in ORDINALS:
            index = ORDINALS[word]
            if index == -1 and options:
                return options[-1]
            if 1 <= index <= len(options):
                return options[index - 1]
    return None


def pick_by_name(text: str, options: Sequence[T], *names: Callable[[T], str]) -> T | None:
    """The single option whose code or name appears in `text` (or `text` in it), else None."""
    wanted = comparable(text)
    if not wanted:
        return None
    hits = []
    for option in options:
        for name in names:
            candidate = comparable(name(option))
            if candidate and (candidate == wanted or candidate in wanted or wanted in candidate):
                hits.append(option)
                break
    return hits[0] if len(hits) == 1 else None

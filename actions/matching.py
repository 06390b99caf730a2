"""Match what the client typed to the catalogue: services, packages, bookings. Pure functions."""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")

_ORDINALS = {
    "primera": 1, "primero": 1, "1ra": 1, "segunda": 2, "segundo": 2, "2da": 2,
    "tercera": 3, "tercero": 3, "3ra": 3, "cuarta": 4, "cuarto": 4, "quinta": 5, "quinto": 5,
    "ultima": -1, "ultimo": -1,
}


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation as spaces: how we compare what people type."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9@.\-]+", " ", text).split())


def pick_by_position(text: str, options: Sequence[T]) -> T | None:
    """'2', 'la 2', 'el segundo', 'la última' → that option (1-based), else None."""
    words = fold(text).replace(".", " ").split()
    for word in words:
        if word.isdigit() and 1 <= int(word) <= len(options):
            return options[int(word) - 1]
        if word in _ORDINALS:
            index = _ORDINALS[word]
            if index == -1 and options:
                return options[-1]
            if 1 <= index <= len(options):
                return options[index - 1]
    return None


def pick_by_name(text: str, options: Sequence[T], *names: Callable[[T], str]) -> T | None:
    """The single option whose code or name appears in `text` (or `text` in it), else None."""
    wanted = fold(text)
    if not wanted:
        return None
    hits = []
    for option in options:
        for name in names:
            candidate = fold(name(option))
            if candidate and (candidate == wanted or candidate in wanted or wanted in candidate):
                hits.append(option)
                break
    return hits[0] if len(hits) == 1 else None

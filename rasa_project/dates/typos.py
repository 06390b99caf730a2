"""Typo correction for date words only: "jueve", "sabdo", "mañna", "vienres", "sabadito", "vie".

A wrong correction invents a day, which is worse than not understanding one, so the rules are
narrow: only a short list of date words is ever a target, the typo must keep the first letter
(b/v are one sound), be one edit away (two for long words), have a single closest target, and not
be an ordinary word that happens to be close ("pagado" is not "pasado", "mates" is not "martes").
"""

from __future__ import annotations

import functools
from typing import Dict, FrozenSet, Tuple

from rasa_project.spanish_text import MONTH_ABBREVIATIONS, MONTHS, PARTS_OF_DAY, WEEKDAYS

__all__ = ["correct_word", "edit_distance"]

# Short months are left out: "junto" is one edit from "junio", "mayor" from "mayo".
_TARGETS: Tuple[str, ...] = (
    *WEEKDAYS,
    *(month for month in MONTHS if len(month) >= 7),
    "manana",
    "pasado",
    "semana",
    "mediodia",
    "proximo",
    "temprano",
    "siguiente",
)
# Real words one edit away from a target: never corrected.
_PROTECTED: FrozenSet[str] = frozenset(
    {"manzana", "pagado", "parado", "pesado", "pasada", "pasadas", "pasados", "salado", "jueces", "domino"}
    | {"mates", "lunas", "semanal", "proxima"}
)
# "sabados", "domingos": a plural weekday means every week, which the day reader must see as such.
_KEEP: FrozenSet[str] = frozenset(name + "s" for name in WEEKDAYS if not name.endswith("s"))
# "vie", "mierc", "sab": cut-short weekdays (each prefix belongs to one weekday only); "mar" is March too.
_WEEKDAY_PREFIXES: Dict[str, str] = {
    name[:size]: name for name in WEEKDAYS for size in range(3, len(name)) if name[:size] not in MONTH_ABBREVIATIONS
}
_DIMINUTIVES: Tuple[Tuple[str, str], ...] = (("ito", "o"), ("ita", "a"), ("itos", "os"), ("ecita", "e"))
_MIN_LENGTH = 5


@functools.lru_cache(maxsize=4096)
def correct_word(word: str) -> str:
    """The date word `word` was meant to be, or `word` unchanged when that is not certain."""
    if not word.isalpha() or word in _TARGETS or word in _KEEP or word in _PROTECTED:
        return word
    if word in _WEEKDAY_PREFIXES:
        return _WEEKDAY_PREFIXES[word]
    diminutive = _undo_diminutive(word)
    if diminutive is not None:
        return diminutive
    if len(word) < _MIN_LENGTH:
        return word
    return _closest_target(word) or word


def _undo_diminutive(word: str) -> str | None:
    """'sabadito' -> 'sabado', 'tempranito' -> 'temprano', 'tardecita' -> 'tarde': only into date words."""
    for ending, replacement in _DIMINUTIVES:
        if word.endswith(ending):
            candidate = word[: -len(ending)] + replacement
            if candidate in _TARGETS or candidate in _KEEP or candidate in PARTS_OF_DAY:
                return candidate
    return None


def _closest_target(word: str) -> str | None:
    scored = sorted((edit_distance(word, target), target) for target in _TARGETS if _same_start(word, target))
    if not scored:
        return None
    best_distance, best = scored[0]
    allowed = 2 if len(best) >= 8 and len(word) >= 7 else 1
    tied = len(scored) > 1 and scored[1][0] == best_distance
    return best if best_distance <= allowed and not tied else None


def _same_start(word: str, target: str) -> bool:
    return word[0] == target[0] or {word[0], target[0]} == {"b", "v"}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance where swapping two neighbouring letters is one edit ("vienres")."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]

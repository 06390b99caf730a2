"""`describe_when`: a short Spanish echo of a `When` for logs and test failures."""

from __future__ import annotations

from datetime import date
from typing import Dict, List

from rasa_project.dates.when import When
from rasa_project.spanish_text import MONTHS, WEEKDAYS

__all__ = ["describe_when"]

_WEEKDAY_NAMES: Dict[int, str] = {number: name for name, number in WEEKDAYS.items()}
_MONTH_NAMES: Dict[int, str] = {}
for _name, _number in MONTHS.items():
    _MONTH_NAMES.setdefault(_number, _name)  # "septiembre" before "setiembre"
_PARTS = {"manana": "por la manana", "tarde": "por la tarde", "noche": "por la noche", "temprano": "temprano"}


def describe_when(when: When) -> str:
    """e.g. "viernes 4 de diciembre, 08:00 o 20:00"; "dia sin entender"; "sin dia ni hora"."""
    pieces: List[str] = []
    if when.day is not None:
        pieces.append(_day_text(when.day))
    elif when.day_range is not None:
        pieces.append(f"del {_day_text(when.day_range[0])} al {_day_text(when.day_range[1])}")
    elif when.other_day and when.day_mentioned:
        pieces.append("otro dia")
    elif when.day_mentioned:
        pieces.append("dia sin entender")
    if when.times:
        pieces.append(" o ".join(moment.strftime("%H:%M") for moment in when.times))
    elif when.part_of_day is not None:
        pieces.append(_PARTS.get(when.part_of_day, when.part_of_day))
    elif when.same_time:
        pieces.append("a la misma hora")
    elif when.other_day and when.time_mentioned:
        pieces.append("otro horario")
    elif when.time_mentioned:
        pieces.append("hora sin entender")
    return ", ".join(pieces) or "sin dia ni hora"


def _day_text(day: date) -> str:
    return f"{_WEEKDAY_NAMES[day.weekday()]} {day.day} de {_MONTH_NAMES[day.month]}"

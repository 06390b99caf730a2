"""What the phrase readers find in the tokens, before the findings of one message are put together.

Each finding remembers the token range it came from, so the span check can tell whether the NLU's
entities covered it, and the resolver can see what stands next to what ("viernes" then "tarde").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import List, Optional, Sequence, Tuple, Union

from rasa_project.dates.tokens import Token

__all__ = ["Context", "DayFinding", "Finding", "TimeFinding"]


@dataclass(frozen=True)
class DayFinding:
    """A phrase naming a day. Neither `day` nor `day_range` (and not `other_day`): named, not understood.

    `needs_hour_elsewhere`: "el viernes 8" where the 8th is not a Friday; the number is taken as the
    day only if the message gives the hour somewhere else ("el lunes 3 a las 9"), otherwise the 8
    may be the hour and the day is a question.

    `maybe`: "a las 7 de mañana" may be tomorrow or the morning. It is ignored when another day is
    named, and otherwise makes the day a question.
    """

    start: int
    end: int
    day: Optional[date] = None
    day_range: Optional[Tuple[date, date]] = None
    other_day: bool = False
    needs_hour_elsewhere: bool = False
    maybe: bool = False


@dataclass(frozen=True)
class TimeFinding:
    """A phrase naming a time: an hour as written (`hour`, `minute`, `suffix`, attached `part`), or only
    a part of the day (`hour` None), or "a la misma hora" / "otro horario", or a bound that is not an
    hour to book (`vague`: "después de las 6", "entre las 7 y las 8")."""

    start: int
    end: int
    hour: Optional[int] = None
    minute: int = 0
    suffix: str = ""
    part: Optional[str] = None
    same_time: bool = False
    other_time: bool = False
    vague: bool = False

    @property
    def marked(self) -> bool:
        """The hour says by itself whether it is morning or evening ("7pm", "7 de la tarde", "19")."""
        return self.suffix in ("am", "pm") or self.part is not None


Finding = Union[DayFinding, TimeFinding]


@dataclass(frozen=True)
class Context:
    """What a phrase reader may look at besides the tokens: today in the business zone, and the
    findings already made to the left (for "viernes tarde", "hoy jueves", "el viernes de mañana")."""

    tokens: Sequence[Token]
    today: date
    found: List[Finding]

    def ends_at(self, index: int) -> Optional[Finding]:
        """The finding that ends right before `index`, if any."""
        if self.found and self.found[-1].end == index:
            return self.found[-1]
        return None

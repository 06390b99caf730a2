"""`understand_when` with the NLU's `fecha_hora` entities: split, partial, wrong or noise.

The entities are read only when they cover every date and time phrase of the message and cut none
of its words; otherwise the whole message is read. Message time: Thursday 2026-11-26 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import List, Optional
from zoneinfo import ZoneInfo

import pytest

from rasa_project.dates import understand_when
from rasa_project.dates.scan import scan
from rasa_project.dates.spans import tokens_from_spans
from rasa_project.dates.tokens import BREAK, tokenize

TZ = "America/Mexico_City"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))
FRIDAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "spans", "day", "at"),
    [
        ("el viernes a las 8am", ["el viernes", "a las 8am"], FRIDAY, time(8, 0)),
        ("pasado mañana a las 7pm", ["pasado", "mañana a las 7pm"], date(2026, 11, 28), time(19, 0)),
        ("el viernes, si se puede, a las 8 pm", ["el viernes", "a las 8 pm"], FRIDAY, time(20, 0)),
        # the entities miss the day the text has: the text is read
        ("quiero el viernes a las 8 pm", ["a las 8 pm"], FRIDAY, time(20, 0)),
        ("quiero pilates mañana a las 6", ["a las 6"], FRIDAY, time(18, 0)),
        # the entities are only noise
        ("bono de 10 para el viernes", ["10"], FRIDAY, None),
        ("el de 10 clases", ["10"], None, None),
        ("somos 2 personas", ["2 personas"], None, None),
        # an entity that cuts an amount ("3" of "3 personas") is not believed
        ("el viernes somos 3 personas", ["el viernes 3"], FRIDAY, None),
        ("el viernes somos 3 personas", ["el viernes", "3"], FRIDAY, None),
        # entities the text does not contain, or out of order
        ("el viernes a las 8 pm", ["viernes 20:00"], FRIDAY, time(20, 0)),
        ("el viernes a las 8 pm", ["a las 8 pm", "el viernes"], FRIDAY, time(20, 0)),
        ("el viernes a las 8 pm", ["", "  ", "👍"], FRIDAY, time(20, 0)),
    ],
)
def test_spans(text: str, spans: List[str], day: Optional[date], at: Optional[time]) -> None:
    when = understand_when(text, NOW, TZ, spans)
    assert (when.day, when.time) == (day, at)


def test_entities_that_cover_everything_are_read_with_a_break_where_they_were_apart() -> None:
    tokens = tokenize("el viernes, si se puede, a las 8 pm")
    chosen = tokens_from_spans(tokens, scan(tokens, NOW.date()), ["el viernes", "a las 8 pm"])
    assert chosen is not None
    assert [token.kind for token in chosen].count(BREAK) == 1
    assert "puede" not in [token.text for token in chosen]


def test_entities_that_miss_a_phrase_are_not_read() -> None:
    tokens = tokenize("quiero el viernes a las 8 pm")
    assert tokens_from_spans(tokens, scan(tokens, NOW.date()), ["a las 8 pm"]) is None

"""`understand_when`: the one entry point from a client's message to a `When`."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence
from zoneinfo import ZoneInfo

from rasa_project.dates.findings import DayFinding, TimeFinding
from rasa_project.dates.refusals import mark_refusals
from rasa_project.dates.resolve import resolve
from rasa_project.dates.scan import scan
from rasa_project.dates.spans import tokens_from_spans
from rasa_project.dates.tokens import tokenize
from rasa_project.dates.when import When

__all__ = ["understand_when"]


def understand_when(text: str, now: datetime, tz: str, spans: Sequence[str] = ()) -> When:
    """What `text` (the whole message) says about a moment, read at `now` in the business zone `tz`.

    `spans` are the NLU's `fecha_hora` entity values in message order; they may be empty, partial,
    split or wrong, so they are read (joined in order) only when they cover every date and time
    phrase found in `text`; otherwise `text` itself is read. The result depends only on `text`,
    `spans`, `now` and `tz`, never on the machine's clock, zone or locale.

    Raises ValueError for a naive `now`: without its zone "today" could be the wrong day.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("understand_when needs an aware `now` (the time the message was sent)")
    local_now = now.astimezone(ZoneInfo(tz))
    today = local_now.date()
    tokens = tokenize(text)
    findings = mark_refusals(tokens, scan(tokens, today))
    # A refusal ("mañana no puedo") lives in words an entity seldom includes: then the text decides.
    refused = any(
        isinstance(f, DayFinding) and f.other_day or isinstance(f, TimeFinding) and f.other_time for f in findings
    )
    chosen = None if refused else tokens_from_spans(tokens, findings, spans)
    if chosen is not None:
        findings = mark_refusals(chosen, scan(chosen, today))
    return resolve(findings, local_now, tz)

"""What the client asked for about a moment, as the booking flows read it from the tracker.

The NLU may split one expression into several `fecha_hora` entities ("el viernes" + "a las 8am"), and a
slot filled `from_entity` keeps only one of them, so the flows never read the moment from a slot value:
they read the latest message (its text and every `fecha_hora` span in order) through the one date
parser, `rasa_project.dates`. What a form has understood so far is kept in the `fecha_pedida` slot, so
a follow-up that changes half of it ("mejor el sábado", "no, a las 7") keeps the other half.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Dict, List, Optional, Sequence
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from rasa_project.dates import When, merge_correction, understand_when

MOMENT_SLOT = "fecha_pedida"


def now_in(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz))


def moment_spans(tracker: Tracker, roles: Sequence[Optional[str]] = (None,)) -> List[str]:
    """The latest message's `fecha_hora` values in message order, keeping the entities whose role is in
    `roles` (None: no role)."""
    entities = (tracker.latest_message or {}).get("entities") or []
    found = [e for e in entities if e.get("entity") == "fecha_hora" and e.get("role") in roles]
    found.sort(key=lambda e: e.get("start", 0))
    return [str(e.get("value")) for e in found if e.get("value")]


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def heard_when(tracker: Tracker, now: datetime, tz: str, *, fallback: str = "",
               roles: Sequence[Optional[str]] = (None,)) -> When:
    """What the latest message says about a moment; when it says nothing (the value being validated came
    from an earlier message), what `fallback` says."""
    when = understand_when(latest_text(tracker), now, tz, moment_spans(tracker, roles))
    if when.is_empty and fallback and fallback != latest_text(tracker):
        when = understand_when(fallback, now, tz)
    return when


def remembered(tracker: Tracker, tz: str) -> Optional[When]:
    """The moment the form understood so far (`fecha_pedida`), or None."""
    return from_slot(tracker.get_slot(MOMENT_SLOT), tz)


def requested(tracker: Tracker, now: datetime, tz: str, *, fallback: str = "",
              roles: Sequence[Optional[str]] = (None,)) -> When:
    """The latest message's moment, completed by what the form already had ("a las 7" keeps its day)."""
    heard = heard_when(tracker, now, tz, fallback=fallback, roles=roles)
    before = remembered(tracker, tz)
    return merge_correction(before, heard) if before is not None else heard


def exact_moment(starts_at: datetime, tz: str) -> When:
    """A slot's or booking's own day and time, as a `When` (the context a later correction changes)."""
    local = starts_at.astimezone(ZoneInfo(tz))
    return When(tz=tz, day=local.date(), time=local.time(), times=(local.time(),), day_mentioned=True,
                time_mentioned=True)


def to_slot(when: When) -> Dict[str, Any]:
    """A JSON-ready copy of `when` for the `fecha_pedida` slot."""
    return {
        "day": when.day.isoformat() if when.day else None,
        "times": [t.strftime("%H:%M") for t in when.times],
        "day_mentioned": when.day_mentioned,
        "time_mentioned": when.time_mentioned,
        "part_of_day": when.part_of_day,
        "day_range": [d.isoformat() for d in when.day_range] if when.day_range else None,
    }


def from_slot(value: Any, tz: str) -> Optional[When]:
    if not isinstance(value, dict):
        return None
    try:
        day = date.fromisoformat(value["day"]) if value.get("day") else None
        times = tuple(time.fromisoformat(t) for t in value.get("times") or [])
        span = value.get("day_range")
        day_range = (date.fromisoformat(span[0]), date.fromisoformat(span[1])) if span else None
        return When(tz=tz, day=day, time=times[0] if times else None, times=times,
                    day_mentioned=bool(value.get("day_mentioned")) or day is not None,
                    time_mentioned=bool(value.get("time_mentioned")) or bool(times),
                    part_of_day=value.get("part_of_day"), day_range=day_range)
    except (KeyError, TypeError, ValueError, IndexError):
        return None

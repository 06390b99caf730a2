"""Whether a reminder goes out: the rules at planning time and at claim time (pure, no I/O).

- planning (`plan_state`): a reminder whose due time is still ahead is pending. One already due is a
  reminder we missed (the booking came from the front desk while the sync was behind, or everything was
  down): still pending, so the scheduler sends it now, but only if the class is more than
  `min_lead_minutes` away and the booking existed at its due time; a reminder due before the client even
  booked is skipped `too_late` (they just booked; "tomorrow you have a class" would be noise).
- claiming (`skip_reason`): opted out, undeliverable, the class starts within `min_lead_minutes`
  (`too_late`), or `superseded`: a later reminder of the same booking is due too (both were missed while
  down), so only the latest goes out. Missed reminders are sent on start-up only while useful, never twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional, Tuple

from rasa_project.reminders.tables import OPTED_OUT, PENDING, SKIPPED, SUPERSEDED, TOO_LATE, UNDELIVERABLE


def starts_too_soon(starts_at: datetime, now: datetime, min_lead_minutes: float) -> bool:
    return starts_at - now <= timedelta(minutes=min_lead_minutes)


def plan_state(due_at: datetime, starts_at: datetime, booked_at: datetime, now: datetime,
               min_lead_minutes: float) -> Tuple[str, Optional[str]]:
    """(state, reason) of a reminder planned at `now` (all naive UTC)."""
    if due_at > now:
        return PENDING, None
    if booked_at >= due_at or starts_too_soon(starts_at, now, min_lead_minutes):
        return SKIPPED, TOO_LATE
    return PENDING, None


def skip_reason(starts_at: datetime, now: datetime, min_lead_minutes: float, *, opted_out: bool = False,
                undeliverable: bool = False, superseded: bool = False) -> Optional[str]:
    """Why a due reminder must not be sent now, or None to send it."""
    if opted_out:
        return OPTED_OUT
    if undeliverable:
        return UNDELIVERABLE
    if starts_too_soon(starts_at, now, min_lead_minutes):
        return TOO_LATE
    if superseded:
        return SUPERSEDED
    return None

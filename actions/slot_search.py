"""Find the schedule slot a client asked for, or the nearest free ones. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import List, Sequence

from rasa_project.booking_api.models import Slot

MAX_ALTERNATIVES = 3


@dataclass
class SlotChoice:
    """The outcome of looking for a requested time: the slot, or up to 3 nearest free alternatives."""

    slot: Slot | None = None
    alternatives: List[Slot] = field(default_factory=list)
    full: Slot | None = None  # the slot at the wanted time exists but has no place left (a waitlist)


def choose_slot(slots: Sequence[Slot], wanted: datetime, now: datetime) -> SlotChoice:
    """The free slot starting exactly at `wanted`, else the nearest free future ones (closest first)."""
    free = [s for s in slots if s.available > 0 and s.starts_at > now]
    for slot in free:
        if slot.starts_at == wanted:
            return SlotChoice(slot=slot)
    full = next((s for s in slots if s.starts_at == wanted and s.starts_at > now and s.available <= 0), None)
    nearest = sorted(free, key=lambda s: (abs((s.starts_at - wanted).total_seconds()), s.starts_at))
    return SlotChoice(alternatives=sorted(nearest[:MAX_ALTERNATIVES], key=lambda s: s.starts_at), full=full)

"""What the waitlist hands out: an `Entry` (one client's place on one slot's list) and an `Offer` (a freed
place offered to that client until `expires_at`). Datetimes are aware UTC; the table stores naive UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional, Protocol, Union


def aware_utc(value: Optional[datetime]) -> Optional[datetime]:
    """A table's naive UTC time as an aware one (None stays None)."""
    return None if value is None else value.replace(tzinfo=timezone.utc)


def naive_utc(value: datetime) -> datetime:
    """Any datetime as the tables store it: naive UTC (a naive value is taken to be UTC already)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class WaitlistSlot:
    """The slot a client waits for: what the offer message needs without asking the booking API again."""

    slot_id: int
    service_code: str
    service_name: str
    starts_at: datetime


class _ApiSlot(Protocol):  # rasa_project.booking_api.models.Slot
    id: int
    service_code: str
    service_name: str
    starts_at: datetime


SlotLike = Union[WaitlistSlot, _ApiSlot]


def as_waitlist_slot(slot: Any) -> WaitlistSlot:
    """A `WaitlistSlot` from itself or from the booking API's `Slot` (whose id is `id`)."""
    if isinstance(slot, WaitlistSlot):
        return slot
    slot_id = getattr(slot, "slot_id", None)
    if slot_id is None:
        slot_id = slot.id
    return WaitlistSlot(int(slot_id), str(slot.service_code), str(slot.service_name), slot.starts_at)


@dataclass(frozen=True)
class Entry:
    """One row of `waitlist_entries`; `state` is one of `rasa_project.waitlist.tables.STATES`."""

    id: int
    slot_id: int
    service_code: str
    service_name: str
    starts_at: datetime
    client_phone: str
    state: str
    joined_at: datetime
    offered_at: Optional[datetime]
    offer_expires_at: Optional[datetime]
    answered_at: Optional[datetime]
    booking_id: Optional[str]
    reason: Optional[str]

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        return cls(
            id=int(row.id), slot_id=int(row.slot_id), service_code=row.service_code,
            service_name=row.service_name, starts_at=row.starts_at.replace(tzinfo=timezone.utc),
            client_phone=row.client_phone, state=row.state, joined_at=row.joined_at.replace(tzinfo=timezone.utc),
            offered_at=aware_utc(row.offered_at), offer_expires_at=aware_utc(row.offer_expires_at),
            answered_at=aware_utc(row.answered_at), booking_id=row.booking_id, reason=row.reason,
        )


@dataclass(frozen=True)
class Offer:
    """A freed place offered to `client_phone`: book `slot_id` before `expires_at`, or it passes on."""

    entry_id: int
    client_phone: str
    slot_id: int
    service_code: str
    service_name: str
    starts_at: datetime
    expires_at: datetime
    state: str  # offered, or accepted (the booking is under way)

    @classmethod
    def from_entry(cls, entry: Entry) -> Offer:
        assert entry.offer_expires_at is not None, entry
        return cls(entry.id, entry.client_phone, entry.slot_id, entry.service_code, entry.service_name,
                   entry.starts_at, entry.offer_expires_at, entry.state)

"""Places freed outside the bot: the schedule (`GET /schedule-slots`) against the slots clients wait for.

`check_slots` reads, for the slots with waiting clients and no live offer, the booking API's schedule over
their local days, and offers a place of every one that shows room (`available > 0`). `waitlist_tick` is the
periodic job (sweep, then this) that the reminders scheduler's runner calls every `WAITLIST_POLL_SECONDS`.
A cancellation by the bot does not wait for it: the conversation calls `place_freed(slot_id)` itself.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.booking_api.errors import BookingApiError
from rasa_project.settings import Settings
from rasa_project.waitlist.facade import Waitlist
from rasa_project.waitlist.models import WaitlistSlot

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 62  # the API's limit on date_to - date_from


def day_ranges(days: List[date]) -> List[Tuple[date, date]]:
    """The fewest (date_from, date_to) ranges the API accepts that cover `days` (sorted, any order in)."""
    ranges: List[Tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][0]).days <= MAX_RANGE_DAYS:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


async def check_slots(booking_api: BookingApiClient, waitlist: Waitlist, *,
                      now: Optional[datetime] = None) -> int:
    """Offer a place of each waited-for slot the schedule shows room in; how many offers were made."""
    waiting = await waitlist.slots_waiting(now=now)
    if not waiting:
        return 0
    zone = ZoneInfo(waitlist.settings.business_timezone)
    by_id: Dict[int, WaitlistSlot] = {s.slot_id: s for s in waiting}
    room: List[int] = []
    for date_from, date_to in day_ranges([s.starts_at.astimezone(zone).date() for s in waiting]):
        for slot in await booking_api.list_slots(date_from, date_to, available_only=False):
            if slot.id in by_id and slot.available > 0:
                room.append(slot.id)
    offered = 0
    for slot_id in room:
        if await waitlist.place_freed(slot_id, now=now) is not None:
            offered += 1
    return offered


async def waitlist_tick(engine: Engine, settings: Settings, booking_api: BookingApiClient) -> None:
    """One run of the periodic job: expire what ran out (offering the next), then read the schedule. An
    unreachable booking API is logged and left for the next tick; database errors propagate."""
    waitlist = Waitlist(engine, settings)
    swept = await waitlist.sweep_once()
    if any(swept.values()):
        logger.info("Waitlist sweep: %s", swept)
    try:
        offered = await check_slots(booking_api, waitlist)
    except BookingApiError as exc:
        logger.warning("Waitlist: the schedule could not be read (%s); next tick retries", exc)
        return
    if offered:
        logger.info("Waitlist: %d freed place(s) offered from the schedule", offered)


def poll_interval(settings: Settings) -> timedelta:
    """How often the runner calls `waitlist_tick` (`WAITLIST_POLL_SECONDS`)."""
    return timedelta(seconds=settings.waitlist_poll_seconds)

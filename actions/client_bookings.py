"""The client's upcoming bookings as the cancel and reschedule flows show and pick them.

A client names a booking by its number in our list ("2", "la segunda"), its id ("RSV-1003"), its
service ("la de yoga") or its day and time ("la del jueves", "la de las 6"); a pick that matches more
than one booking is no pick, and the flow asks with the numbered list.
"""

from __future__ import annotations

from abc import ABC
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.formatting import when_text
from actions.identity import client_phone
from actions.matching import comparable, pick_by_name, pick_by_position
from actions.services import Services
from rasa_project.booking_api.models import Booking
from rasa_project.dates import When


async def upcoming(services: Services, phone: str) -> List[Booking]:
    return [b for b in await services.booking_api.list_bookings(phone) if b.is_active]


def booking_line(booking: Booking, tz: str) -> str:
    return f"{booking.service_name}, {when_text(booking.starts_at, tz)} (reserva {booking.id})"


def booking_button(booking: Booking, tz: str) -> Dict[str, str]:
    """A numbered option that answers "which booking?" inside the cancel and reschedule forms."""
    return {"title": f"{booking.service_name}, {when_text(booking.starts_at, tz)}",
            "payload": f'/informar{{"booking_id": "{booking.id}"}}'}


def named_booking(text: str, moment: When, bookings: List[Booking], tz: str) -> Optional[Booking]:
    """The one booking `text` (or the moment it names) points at, else None."""
    chosen = next((b for b in bookings if comparable(b.id) == comparable(text)), None)
    if chosen is None and text.strip():
        chosen = pick_by_position(text, bookings) or pick_by_name(
            text, bookings, lambda b: b.service_name, lambda b: b.service_code)
    if chosen is None and (moment.day is not None or moment.times):
        matching = [b for b in bookings if _at_moment(b, moment, tz)]
        chosen = matching[0] if len(matching) == 1 else None
    return chosen


def _at_moment(booking: Booking, moment: When, tz: str) -> bool:
    local = booking.starts_at.astimezone(ZoneInfo(tz))
    if moment.day is not None and local.date() != moment.day:
        return False
    return not moment.times or local.time() in moment.times


class AskWhichBooking(AssistantAction, ABC):
    """A form's "which booking?" as numbered options of the client's upcoming bookings (cancel, move)."""

    response = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        tz = self.services.settings.business_timezone
        async with replier.calling_api("list_bookings") as call:
            bookings = await upcoming(self.services, client_phone(tracker) or "")
        if call.failed:
            return call.events
        await replier.say(self.response, facts={"bookings": [b.id for b in bookings]},
                          buttons=[booking_button(b, tz) for b in bookings])
        return []

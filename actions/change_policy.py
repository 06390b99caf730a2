"""The studio's change policy: no free cancel or change less than `change_notice_hours` before the start.

Inside that window the bot says so and does not call the booking API (the front desk decides), so a
client is never told "listo" about a change the studio would charge for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rasa_project.booking_api.models import Booking


def within_notice(booking: Booking, now: datetime, notice_hours: float) -> bool:
    """True when the booking starts in less than `notice_hours` (0 switches the policy off)."""
    return notice_hours > 0 and booking.starts_at - now < timedelta(hours=notice_hours)

"""The reminder loops inside the Rasa process (`REMINDERS_IN_PROCESS=true`), started and stopped by the
channel's runtime (`connectors/whatsapp/lifecycle.py`) with its inbox worker, over the channel's engine.

Its booking-API client is its own (an httpx client must be closed in the loop that made it), opened at
start and closed at stop; the scheduler wakes the worker's drain of each sender it queued a reminder for.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.reminders.runner import ReminderLoops
from rasa_project.reminders.scheduler import Wake
from rasa_project.settings import Settings


class InProcessReminders:
    def __init__(self, settings: Settings, engine: Engine, wake: Wake, owner: str) -> None:
        self.booking_api = BookingApiClient.from_settings(settings)
        self.loops = ReminderLoops(settings, engine, self.booking_api, wake, owner=f"{owner}:reminders")

    def start(self) -> None:
        self.loops.start()

    async def stop(self) -> None:
        await self.loops.stop()
        await self.booking_api.aclose()


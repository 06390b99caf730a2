"""What actions need from the outside world, built once per action-server process.

rasa-sdk instantiates each action once and reuses it for every conversation, so actions hold no
per-user state; they get a `Services` through their constructor (tests pass one pointed at the
sandboxes) or share the process-wide one, created on first use inside the running event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.phrasing import Phraser
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.settings import Settings, get_settings
from rasa_project.waitlist import Waitlist


@dataclass
class Services:
    settings: Settings
    booking_api: BookingApiClient
    phraser: Phraser
    # The conversation-log stores the actions write to, built on first use (their engine, migrated, opens
    # then), so a test or an action that never needs them never opens that database.
    given_reminders: Optional[ReminderPlanner] = field(default=None, repr=False)
    given_waitlist: Optional[Waitlist] = field(default=None, repr=False)

    @property
    def reminders(self) -> ReminderPlanner:
        """plan / cancel / confirmed (rasa_project/reminders/planner.py)."""
        if self.given_reminders is None:
            self.given_reminders = ReminderPlanner(self.settings)
        return self.given_reminders

    @property
    def waitlist(self) -> Waitlist:
        """join / offer / accept / decline (rasa_project/waitlist/)."""
        if self.given_waitlist is None:
            self.given_waitlist = Waitlist.from_settings(self.settings)
        return self.given_waitlist

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(settings, BookingApiClient.from_settings(settings), Phraser.from_settings(settings))

    async def aclose(self) -> None:
        await self.booking_api.aclose()
        await self.phraser.aclose()


_shared: Services | None = None


def shared_services() -> Services:
    global _shared
    if _shared is None:
        _shared = Services.from_settings(get_settings())
    return _shared


async def close_shared_services() -> None:
    global _shared
    if _shared is not None:
        await _shared.aclose()
        _shared = None

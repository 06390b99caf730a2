"""What actions need from the outside world, built once per action-server process.

rasa-sdk instantiates each action once and reuses it for every conversation, so actions hold no
per-user state; they get a `Services` through their constructor (tests pass one pointed at the
sandboxes) or share the process-wide one, created on first use inside the running event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.phrasing import Phraser
from rasa_project.reminders.planner import ReminderPlanner
from rasa_project.settings import Settings, get_settings


@dataclass
class Services:
    settings: Settings
    booking_api: BookingApiClient
    phraser: Phraser
    # plan / cancel / confirmed (rasa_project/reminders/planner.py); its engine (migrated) opens on first use
    reminders: ReminderPlanner = None  # type: ignore[assignment]  # built from settings when not given

    def __post_init__(self) -> None:
        if self.reminders is None:
            self.reminders = ReminderPlanner(self.settings)

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

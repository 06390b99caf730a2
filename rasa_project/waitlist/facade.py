"""`Waitlist`: the waitlist for async code (the action server, the scheduler's runner). Each call runs the
store's short transaction in a worker thread (`asyncio.to_thread`), so the event loop never waits on
Postgres. Same methods, arguments and results as `store.WaitlistStore`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy.engine import Engine

from rasa_project.conversation_log.database import shared_engine
from rasa_project.settings import Settings
from rasa_project.waitlist.models import Entry, Offer, SlotLike, WaitlistSlot
from rasa_project.waitlist.store import WaitlistStore


class Waitlist:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.store = WaitlistStore.from_settings(engine, settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Waitlist:
        """On the conversation-log database (`TRACKER_DB_URL`), migrated on first use."""
        return cls(shared_engine(settings.tracker_db_url, settings), settings)

    async def join(self, client_phone: str, slot: SlotLike, *, now: Optional[datetime] = None) -> Entry:
        return await asyncio.to_thread(self.store.join, client_phone, slot, now=now)

    async def withdraw(self, client_phone: str, slot_id: int, *, now: Optional[datetime] = None) -> bool:
        return await asyncio.to_thread(self.store.withdraw, client_phone, slot_id, now=now)

    async def place_freed(self, slot_id: int, *, now: Optional[datetime] = None) -> Optional[Entry]:
        return await asyncio.to_thread(self.store.place_freed, slot_id, now=now)

    async def live_offer(self, client_phone: str, *, now: Optional[datetime] = None) -> Optional[Offer]:
        return await asyncio.to_thread(self.store.live_offer, client_phone, now=now)

    async def accept(self, entry_id: int, *, now: Optional[datetime] = None) -> Optional[Offer]:
        return await asyncio.to_thread(self.store.accept, entry_id, now=now)

    async def booked(self, entry_id: int, booking_id: str, *, now: Optional[datetime] = None) -> bool:
        return await asyncio.to_thread(self.store.booked, entry_id, booking_id, now=now)

    async def accept_failed(self, entry_id: int, reason: str, *, offer_next_client: bool = False,
                            now: Optional[datetime] = None) -> Optional[Entry]:
        return await asyncio.to_thread(self.store.accept_failed, entry_id, reason,
                                       offer_next_client=offer_next_client, now=now)

    async def decline(self, entry_id: int, *, now: Optional[datetime] = None) -> Optional[Entry]:
        return await asyncio.to_thread(self.store.decline, entry_id, now=now)

    async def sweep_once(self, now: Optional[datetime] = None) -> Dict[str, int]:
        return await asyncio.to_thread(self.store.sweep_once, now)

    async def entry(self, entry_id: int) -> Optional[Entry]:
        return await asyncio.to_thread(self.store.entry, entry_id)

    async def slots_waiting(self, *, now: Optional[datetime] = None) -> List[WaitlistSlot]:
        return await asyncio.to_thread(self.store.slots_waiting, now=now)

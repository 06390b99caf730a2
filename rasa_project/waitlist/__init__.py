"""The waitlist engine (docs/waitlist.md): join a full slot's queue, offer a freed place to one client at a
time, book, decline or expire; `Waitlist` is the action server's async facade."""

from rasa_project.waitlist.facade import Waitlist
from rasa_project.waitlist.models import Entry, Offer, WaitlistSlot
from rasa_project.waitlist.store import WaitlistStore

__all__ = ["Entry", "Offer", "Waitlist", "WaitlistSlot", "WaitlistStore"]

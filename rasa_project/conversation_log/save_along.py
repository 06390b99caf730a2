"""A write that joins the tracker save completing a turn, so ending the turn costs no round trip of its own.

The WhatsApp channel marks its inbox row done this way (`connectors/whatsapp/turn.py`): the row's UPDATE goes
in the same statement (Postgres, plain save) or transaction as the turn's events, so a logged turn and its
finished message commit together. The save that completes the turn is the one whose new events hold the
user message with the turn's message id (Rasa's `handle_message` saves once after logging it). The channel
uses it only with Rasa's in-process lock store: the row is done before Rasa releases the sender's lock, so
with a shared lock store another instance could start the next turn while the lock is still held.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

from rasa.shared.core.events import Event, UserUttered


@dataclass
class SaveAlong:
    message_id: str  # the user message whose save completes the turn
    statement: Callable[[], Any]  # builds the one UPDATE to run with that save (built then: its times are then)
    applied: Optional[bool] = None  # None: not run yet; True: it matched its row; False: it matched none


_current: ContextVar[Optional[SaveAlong]] = ContextVar("conversation_log_save_along", default=None)


@contextmanager
def saving_along(along: SaveAlong) -> Iterator[SaveAlong]:
    """Within this block (and the threads it starts with `asyncio.to_thread`), the completing save runs it."""
    token = _current.set(along)
    try:
        yield along
    finally:
        _current.reset(token)


def due_with(new_events: Sequence[Event]) -> Optional[SaveAlong]:
    """The write to run with a save of `new_events`, if this save completes the current turn."""
    along = _current.get()
    if along is None or along.applied is not None:
        return None
    if any(isinstance(event, UserUttered) and event.message_id == along.message_id for event in new_events):
        return along
    return None

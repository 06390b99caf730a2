"""A retried turn must not answer twice.

A turn is retried when its worker died mid-turn (the inbox lease expired) or the turn raised (e.g. the
tracker store's database went away). By then some replies may have reached the client, and Rasa may
even have saved the whole turn. Two guards, used on retries only:

- Rasa already logged it: the tracker holds a `user` event with this MessageSid, so the turn finished
  and only the inbox row was left unfinished. Nothing is run again (`turn_already_logged`).
- Otherwise Rasa runs the turn again, and the n-th reply of the retry stands for the n-th reply of
  the earlier attempts (`whatsapp_outbound.reply_index`, `OutboundStore.earlier_replies`): a reply
  Twilio accepted is not sent again; one whose send was cut off (row still `sending`) is looked up in
  Twilio's Messages list before it is sent again (`OutboundDispatcher`).

The retry may phrase a reply differently (it is skipped all the same), and it calls the booking API
again: a booking comes back 409 `already_booked`, a cancellation `already_cancelled`, and a purchase
reuses the pending one just made (actions/booking.py, cancelling.py, packages.py).
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.shared.core.events import UserUttered


async def turn_already_logged(agent: Optional[Any], sender_id: str, message_sid: str) -> bool:
    """True when the agent's tracker store already has the user message with this MessageSid."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    tracker = await store.retrieve(sender_id)
    if tracker is None:
        return False
    return any(isinstance(event, UserUttered) and event.message_id == message_sid
               for event in reversed(tracker.events))

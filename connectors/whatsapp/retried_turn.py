"""A retried turn must not answer twice: every guard of it lives here.

A turn is retried when its worker died mid-turn (the inbox lease expired) or the turn raised (e.g. the
tracker store's database went away). By then some replies may have reached the client, and Rasa may
even have saved the whole turn. Two guards, used on retries only:

- Rasa already logged it: the tracker holds a `user` event with this MessageSid, so the turn finished
  and only the inbox row was left unfinished. Nothing is run again (`turn_already_logged`).
- Otherwise Rasa runs the turn again, and the n-th reply of the retry stands for the n-th reply of
  the earlier attempts (`whatsapp_outbound.reply_index`): a reply Twilio accepted is not sent again;
  one whose send was cut off (row still `sending`) is looked up in Twilio's Messages list before it is
  sent again (`RetriedTurn.already_sent`).

The stores and the Twilio client only answer questions (which rows, which SIDs, what Twilio has); the
decisions are taken here. The retry may phrase a reply differently (it is skipped all the same), and it
calls the booking API again: a booking comes back 409 `already_booked`, a cancellation
`already_cancelled`, and a purchase reuses the pending one just made (actions/booking.py, cancelling.py,
packages.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Optional

from rasa.shared.core.events import UserUttered

from rasa_project.metrics import OUTBOUND_SENDS

if TYPE_CHECKING:
    from connectors.whatsapp.outbound_store import OutboundStore
    from connectors.whatsapp.twilio_client import TwilioClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EarlierReply:
    """What an earlier attempt of the same turn did with the reply at one position."""

    row_id: int
    body: Optional[str]
    status: str
    twilio_sid: Optional[str]
    created_at: datetime

    @property
    def accepted(self) -> bool:
        """Twilio took it (it has a SID): sending it again would duplicate it."""
        return self.twilio_sid is not None

    @property
    def interrupted(self) -> bool:
        """The attempt stopped during the send: Twilio may or may not have it."""
        return self.twilio_sid is None and self.status == "sending"


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


@dataclass
class RetriedTurn:
    """What earlier attempts of one inbound message's turn left, by reply position (empty: first attempt)."""

    earlier: Dict[int, EarlierReply] = field(default_factory=dict)

    @classmethod
    async def load(cls, outbound: OutboundStore, inbox_id: int, attempt: int) -> RetriedTurn:
        """The earlier replies of a retry; nothing to look up on a first attempt."""
        if attempt <= 1:
            return cls()
        return cls(await asyncio.to_thread(outbound.earlier_replies, inbox_id))

    async def already_sent(self, index: Optional[int], to: str, body: Optional[str], media_url: Optional[str],
                           twilio: TwilioClient, outbound: OutboundStore) -> bool:
        """Did an earlier attempt of this turn already get the reply at `index` to Twilio?

        An interrupted send is looked up at Twilio (best effort: when the lookup fails the reply is sent
        again, a duplicate beats a lost reply); found, its row takes the SID; not found, it is marked
        `interrupted` and the caller sends the reply again.
        """
        earlier = self.earlier.get(index) if index is not None else None
        if earlier is None:
            return False
        if earlier.interrupted:
            try:
                candidates = await twilio.find_sent(to, body, media_url, earlier.created_at)
                known = await asyncio.to_thread(outbound.known_sids, [c.sid for c in candidates])
            except Exception as exc:  # the lookup is best effort: a duplicate beats a lost reply
                logger.warning("Reply %s to %s: could not look up its interrupted send at Twilio (%s: %s); "
                               "sending it again", index, to, type(exc).__name__, exc)
                return False
            found = next((c for c in candidates if c.sid not in known), None)
            if found is None:
                await asyncio.to_thread(outbound.mark_interrupted, earlier.row_id)
                return False
            await asyncio.to_thread(outbound.record_accepted, earlier.row_id, found.sid, found.status, 1)
            logger.info("Reply %s to %s: its interrupted send reached Twilio as %s; not sent again",
                        index, to, found.sid)
        elif not earlier.accepted:
            return False
        OUTBOUND_SENDS.labels(status="not_repeated").inc()
        logger.info("Reply %s to %s already sent by an earlier attempt of the turn%s; not repeated",
                    index, to, "" if earlier.body == body else " (other wording)")
        return True

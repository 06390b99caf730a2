"""The channel's own rules for a claimed inbound message, before Rasa sees it.

In order: opt-in keyword (always honoured), opted-out sender (stored, not processed), opt-out keyword,
per-sender rate limit (counted from the inbox, so it holds across instances), option mapping: a tapped
WhatsApp button (ButtonPayload, else its ButtonText), a typed "2" or a typed title → that option's
payload. The gate keeps the state of its rules (opt-out, the options last sent, the rate-limit notice)
and says what happens to the message; the turn processor acts on the verdict.
What Rasa receives is saved as `bot_text` before the turn when a retry could not find it again: a
transcript (not made twice), a reply the options mapped (they are forgotten then). A plain text with no
options stored is not written (one round trip less per message): a retry's gate maps it to the same
text, because the one thing it reads that a turn can change is the options, and a turn that stores
options pins the row's text in the same statement (`SenderStore.store_options`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping, Optional, Sequence

from connectors.whatsapp import notices
from connectors.whatsapp.inbox_store import InboxRow, InboxStore
from connectors.whatsapp.keywords import is_opt_in, is_opt_out
from connectors.whatsapp.options import Option, choose_option
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.tables import DONE, OPTED_OUT, RATE_LIMITED
from rasa_project.metrics import INBOUND_MESSAGES
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Either the text Rasa receives, or how the channel handled the message itself."""

    text: Optional[str] = None  # for Rasa; None when handled here
    status: str = DONE  # the inbox row's final status when handled here
    notice: Optional[str] = None  # what the channel tells the client when handled here
    notice_kind: str = "bot"  # the outbound row's kind for that notice


def option_for_reply(body: str, button: Optional[Mapping[str, Any]], options: Sequence[Option]) -> str:
    """What Rasa receives for a reply to `options`.

    A button tap (`button` = inbound metadata {payload, text}) is matched by payload (our session Content
    ids are the Rasa payloads), then as a number: an approved template's quick replies have fixed ids
    "1", "2", "3" (docs/whatsapp-window.md), the numbering of the options stored with it; then by its text
    (a title). A tap on an older message whose options are gone keeps its payload. Anything typed goes
    through `choose_option`.
    """
    if button and button.get("payload"):
        payload = str(button["payload"])
        chosen = next((o for o in options if o.payload == payload), None)
        if chosen is None and payload.isdigit() and 1 <= int(payload) <= len(options):
            chosen = options[int(payload) - 1]
        chosen = chosen or choose_option(str(button.get("text") or ""), options)
        return chosen.payload if chosen else payload
    chosen = choose_option(body, options)
    return chosen.payload if chosen else body


class ChannelGate:
    def __init__(self, settings: Settings, inbox: InboxStore, senders: SenderStore, owner: str) -> None:
        self.settings = settings
        self.inbox = inbox
        self.senders = senders
        self.owner = owner

    async def check(self, row: InboxRow, text: Optional[str] = None) -> Verdict:
        """`text`: what the client said when it is not the stored body (a voice note's transcript)."""
        body = row.body if text is None else text
        context = row.context  # what the claim read (Postgres), else asked here
        state = context.sender if context is not None else await asyncio.to_thread(self.senders.get, row.sender_id)
        if is_opt_in(body):
            await asyncio.to_thread(self.senders.set_opted_out, row.sender_id, False)
            logger.info("Sender %s opted in", row.sender_id)
            return Verdict(notice=notices.OPTED_IN, notice_kind="opt_in")
        if state.opted_out:
            INBOUND_MESSAGES.labels(outcome="opted_out").inc()
            return Verdict(status=OPTED_OUT)
        if is_opt_out(body):
            await asyncio.to_thread(self.senders.set_opted_out, row.sender_id, True)
            logger.info("Sender %s opted out", row.sender_id)
            return Verdict(notice=notices.OPTED_OUT, notice_kind="opt_out")
        window = self.settings.rate_limit_window_seconds
        if context is not None and context.recent is not None:
            recent = context.recent
        else:
            recent = await asyncio.to_thread(self.inbox.count_recent, row.sender_id, row.id,
                                             row.received_at - timedelta(seconds=window))
        if recent >= self.settings.rate_limit_messages:
            INBOUND_MESSAGES.labels(outcome="rate_limited").inc()
            logger.warning("Sender %s rate limited: %d messages in %.0fs (inbox %d not processed)",
                           row.sender_id, recent + 1, window, row.id)
            notify = await asyncio.to_thread(self.senders.take_rate_limit_notice, row.sender_id, window)
            return Verdict(status=RATE_LIMITED, notice=notices.RATE_LIMITED if notify else None,
                           notice_kind="rate_limit")
        button = row.metadata.get("button") if text is None and isinstance(row.metadata, dict) else None
        for_rasa = option_for_reply(body, button, state.options)
        if text is not None or state.options or for_rasa != body:
            # pinned before the turn; the options used to map this reply are forgotten in the same statement
            await asyncio.to_thread(self.inbox.set_bot_text, row.id, self.owner, for_rasa,
                                    row.sender_id if state.options else None)
        return Verdict(text=for_rasa)

"""What the team does to a conversation from outside a turn: write to the client as the business, hand it
back to the bot. Called by the operator API (`operator_api.py`), the helpdesk webhook and the idle loop
(`handoff_loops.py`), in the Rasa process.

Both work under Rasa's per-conversation lock (`agent.lock_store`), so they never interleave with a turn of
the same client, and write to the tracker through `agent.tracker_store`: the tracker store's handoff hook
(`rasa_project/handoff/state.py`) then updates the `handoffs` row and the outbox in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Dict

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed

from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.splitting import split_text
from rasa_project.phones import normalize_e164

if TYPE_CHECKING:  # lifecycle.py builds the loops that call hand_back
    from connectors.whatsapp.lifecycle import ChannelRuntime

logger = logging.getLogger(__name__)

HELPDESK_KIND = "helpdesk"  # whatsapp_outbound.kind of what the team writes
LOCK_WAIT_SECONDS = 0.1


class DeliveryFailed(RuntimeError):
    """The client did not get the message (opted out, or Twilio refused it after its retries)."""


class NoAgent(RuntimeError):
    """Rasa's agent is not loaded yet (server starting)."""


def _require_agent(agent: Any) -> Any:
    if agent is None or getattr(agent, "tracker_store", None) is None:
        raise NoAgent("Rasa's agent is not loaded")
    return agent


async def send_as_business(runtime: ChannelRuntime, agent: Any, sender_id: str, text: str,
                           author: Dict[str, Any]) -> None:
    """Send `text` to the client as the business and record it as a bot message written by `author`.

    The message goes through the channel's own output path (`WhatsAppOutput` → `OutboundSender`: one send
    at a time per client, Twilio retries, the outbound log and status callbacks, opt-out respected) and
    is recorded as `BotUttered(text, metadata={"helpdesk": author})`, which the helpdesk mirror never
    mirrors back. It is sent first and recorded only when the client got it: the log never shows a
    message the client did not receive. Raises `DeliveryFailed` when no part was accepted, `NoAgent`
    before Rasa loaded, `InvalidPhone` for a sender id that is not a number. Does not require the
    conversation to be handed off (a team may write first); it does not pause the bot either.
    """
    agent = _require_agent(agent)
    sender_id = normalize_e164(sender_id)
    parts = runtime.opened
    if await asyncio.to_thread(parts.senders.is_opted_out, sender_id):
        raise DeliveryFailed(f"{sender_id} opted out: nothing sent")
    output = WhatsAppOutput(parts.sender, parts.senders, public_base_url=runtime.settings.webhook_public_url or None,
                            kind=HELPDESK_KIND)
    async with agent.lock_store.lock(sender_id, wait_time_in_seconds=LOCK_WAIT_SECONDS):
        sent = [await output.send_one(sender_id, part) for part in split_text(text)]
        if not any(sent):
            raise DeliveryFailed(f"message to {sender_id} not accepted by Twilio")
        tracker = await agent.tracker_store.get_or_create_tracker(sender_id, append_action_listen=False)
        metadata: Dict[str, Any] = {"helpdesk": dict(author)}
        if not all(sent):
            metadata["delivery"] = "partial"
        tracker.update(BotUttered(text, metadata=metadata))
        await agent.tracker_store.save(tracker)
    logger.info("Team message to %s sent and recorded (%d part(s))", sender_id, len(sent))


async def hand_back(agent: Any, sender_id: str, by: str) -> bool:
    """Give the conversation back to the bot: appends `ConversationResumed(metadata={"by": by})`.

    The tracker store's hook records `by` as `handoffs.ended_by` (and queues the 'handback' outbox row).
    Returns False, writing nothing, when the conversation does not exist or is not handed off. The bot
    says nothing now; it answers the client's next message. An `action_listen` follows the resume: a paused
    Rasa logs messages without one, and without it the policies would read the client's next message as
    coming right after `action_pasar_a_humano` (no rule matches; the handoff was predicted again).
    """
    agent = _require_agent(agent)
    sender_id = normalize_e164(sender_id)
    async with agent.lock_store.lock(sender_id, wait_time_in_seconds=LOCK_WAIT_SECONDS):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None or not tracker.is_paused():
            return False
        tracker.update(ConversationResumed(metadata={"by": by}))
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await agent.tracker_store.save(tracker)
    logger.info("Conversation %s handed back to the bot (by %s)", sender_id, by)
    return True

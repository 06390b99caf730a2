"""`WhatsAppOutput`: how Rasa's responses become WhatsApp messages.

- text: split at 1,600 characters on paragraph/line/sentence/word boundaries, parts sent in order;
- buttons / quick replies: WhatsApp buttons where they fit (`buttons.py`: up to 3 → quick-reply, up to
  10 → list picker, sent by Content SID from `content_store.py`, the text as its `{{1}}`); otherwise,
  or when the Content cannot be had, ONE message, the text plus "1. Título" lines. A long text goes
  first in parts, the buttons on the last part (≤ 1,024). Either way the options are remembered for
  the sender so a tap (ButtonPayload), "2" / "la 2" or the title maps back to the payload;
- image / attachment URL: a media message (`MediaUrl`);
- custom JSON `{"template": {name, variables, text, buttons}}` (`delivery_rules.TemplateSpec`): inside
  WhatsApp's 24-hour window its text with buttons as above; outside it the approved template by
  ContentSid (`whatsapp_templates`), or `skipped` when the name has no SID; options stored either way;
- custom JSON: its "text" if present, otherwise ignored (debug log);
- any other keys of a response (facts, metadata, ...) are ignored.
Every send waits for Twilio's acceptance (see `sender.py`), so a turn's messages keep their order.
Each message of a turn is numbered (`reply_index`), so a retry of the turn can skip what went out
(`retried_turn.py`). The medium: the turn passes its inbound message's (`medium`); a proactive output
reads the client's state once per Rasa message (`SenderStore.recipient`: medium, window, marks) and hands
it to the sender, so no send reads it twice. SMS: text split by segments (`sms.py`), buttons as numbers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel

from connectors.whatsapp.buttons import CONTENT_MAX_BODY, ContentSpec, button_descriptions, choose_content
from connectors.whatsapp.delivery_rules import (
    InvalidTemplateSpec,
    TemplateRef,
    TemplateSpec,
    choose_template_form,
    window_open,
)
from connectors.whatsapp.options import Option, options_from_buttons, render_options
from connectors.whatsapp.paths import CHANNEL_NAME, status_callback_url
from connectors.whatsapp.retried_turn import RetriedTurn
from connectors.whatsapp.sender import ContentMessage, OutboundSender
from connectors.whatsapp.sender_store import Recipient, SenderStore
from connectors.whatsapp.sms import split_sms
from connectors.whatsapp.splitting import split_keeping_last, split_text
from connectors.whatsapp.tables import utcnow
from rasa_project.metrics import OPTION_MESSAGES, OUTSIDE_WINDOW_MESSAGES
from rasa_project.phones import SMS, Address, normalize_e164

logger = logging.getLogger(__name__)


class WhatsAppOutput(OutputChannel):
    """Output channel bound to one inbound message (`inbox_id`) or none (proactive messages)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sender: OutboundSender, senders: SenderStore, *, inbox_id: Optional[int] = None,
                 public_base_url: Optional[str] = None, kind: str = "bot",
                 retry: Optional[RetriedTurn] = None, medium: Optional[str] = None,
                 recipient: Optional[Recipient] = None) -> None:
        """`retry`: what earlier attempts of this turn sent, by reply position (retries only); `medium`:
        how the client wrote (the turn's inbound message; `phones.SMS` gets text only); None: read from the
        client's state (proactive sends). `recipient`: the client's state as the claim of this message read
        it (Postgres): the turn's replies use it instead of reading it again for each bot message. What could
        change it meanwhile cannot reach this turn's replies: an opt-out is the gate's (in order, after this
        message), an undeliverable mark only stops proactive sends, and the window opened with this message."""
        self.sender = sender
        self.senders = senders
        self.inbox_id = inbox_id
        self.status_callback = status_callback_url(public_base_url)
        self.kind = kind
        self.retry = retry
        self.medium = medium
        self.recipient = recipient
        self._next_index = 0

    async def _state(self, recipient_id: str) -> Recipient:
        """The client's state (the claim's, else read once per Rasa message); the turn's medium wins over the
        stored one."""
        key = normalize_e164(recipient_id)
        if self.recipient is not None and self.recipient.sender_id == key:
            state = self.recipient
        else:
            state = await asyncio.to_thread(self.senders.recipient, key)
        return state if self.medium is None or self.medium == state.medium else replace(state, medium=self.medium)

    def _index(self) -> Optional[int]:
        if self.inbox_id is None:
            return None
        index, self._next_index = self._next_index, self._next_index + 1
        return index

    async def send_one(self, recipient_id: str, body: Optional[str] = None, media_url: Optional[str] = None,
                       **kwargs: Any) -> bool:
        return await self.sender.send(recipient_id, body, media_url, inbox_id=self.inbox_id,
                                      status_callback=self.status_callback, kind=self.kind,
                                      reply_index=self._index(), retry=self.retry,
                                      medium=kwargs.pop("medium", self.medium), **kwargs)

    def _parts(self, text: str, medium: str) -> List[str]:
        if medium == SMS:
            return split_sms(text or "", self.sender.twilio.settings.sms_max_segments)
        return split_text(text or "")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        state = await self._state(recipient_id)
        for part in self._parts(text, state.medium):
            await self.send_one(recipient_id, part, recipient=state, medium=state.medium)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self._send_buttons(recipient_id, text, buttons, await self._state(recipient_id))

    async def _send_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], state: Recipient,
                            offer: Optional[TemplateRef] = None) -> None:
        """The text with its options as WhatsApp buttons or numbered text; `offer`: the template the message
        (its last part) is retried as after a 63016."""
        options = options_from_buttons(buttons)
        parts = split_keeping_last(text or "", CONTENT_MAX_BODY)
        to = Address(normalize_e164(recipient_id), state.medium).twilio
        spec = choose_content(options, parts[-1] if parts else "", to,
                              enabled=self.sender.twilio.settings.whatsapp_native_buttons,
                              descriptions=button_descriptions(buttons))
        sid = await self.sender.contents.sid_for(spec) if spec is not None else None
        if spec is not None and sid is not None:
            sent = await self._send_with_content(recipient_id, parts, options, spec, sid, state, offer)
        else:
            if options:
                OPTION_MESSAGES.labels(form="fallback" if spec is not None else "numbered").inc()
            sent = False
            numbered = self._parts(render_options(text, options), state.medium)
            for n, part in enumerate(numbered, start=1):
                sent = await self.send_one(recipient_id, part, recipient=state, medium=state.medium,
                                           offer=offer if n == len(numbered) else None) or sent
        if options and sent:
            await asyncio.to_thread(self.senders.store_options, normalize_e164(recipient_id), options, self.inbox_id)

    async def _send_with_content(self, recipient_id: str, parts: List[str], options: List[Option],
                                 spec: ContentSpec, sid: str, state: Recipient,
                                 offer: Optional[TemplateRef] = None) -> bool:
        """The text's leading parts as plain messages, the last one with the buttons."""
        OPTION_MESSAGES.labels(form="quick_reply" if spec.kind.endswith("quick-reply") else "list_picker").inc()
        sent = False
        for part in parts[:-1]:
            sent = await self.send_one(recipient_id, part, recipient=state, medium=state.medium) or sent
        last = parts[-1]
        content = ContentMessage(sid, spec.variables(last), render_options(last, options))
        return await self.send_one(recipient_id, last, content=content, recipient=state, medium=state.medium,
                                   offer=offer) or sent

    async def send_template(self, recipient_id: str, spec: TemplateSpec) -> None:
        """A template-capable message: free-form inside the window, the approved template outside it."""
        state = await self._state(recipient_id)
        settings = self.sender.twilio.settings
        inside = window_open(state.last_inbound_at, utcnow(), settings.whatsapp_window_hours, state.medium)
        choice = choose_template_form(spec.name, inside, settings.template_sids)
        options = options_from_buttons(spec.buttons)
        shown = render_options(spec.text, options)
        if choice.form == "session":
            await self._send_buttons(recipient_id, spec.text, spec.buttons, state, offer=spec.ref)
            return
        if choice.form == "skip":
            assert choice.reason is not None
            await self.sender.skip(normalize_e164(recipient_id), self.inbox_id, self.kind, shown, None,
                                   self._index(), choice.reason, "skipped")
            return
        assert choice.content_sid is not None
        OUTSIDE_WINDOW_MESSAGES.labels(outcome="template").inc()
        content = ContentMessage(choice.content_sid, spec.ref.content_variables, shown, spec.ref)
        # the template's quick replies have fixed ids "1", "2", "3": the stored options' numbering maps them back
        if await self.send_one(recipient_id, shown, content=content, recipient=state, medium=state.medium) and options:
            await asyncio.to_thread(self.senders.store_options, normalize_e164(recipient_id), options, self.inbox_id)

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_one(recipient_id, None, image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            await self.send_one(recipient_id, None, attachment)
        elif isinstance(attachment, dict) and attachment.get("payload", {}).get("src"):
            await self.send_one(recipient_id, None, str(attachment["payload"]["src"]))
        else:
            logger.debug("Attachment without a URL ignored for %s: %r", recipient_id, attachment)

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        if isinstance(json_message, dict) and "template" in json_message:
            try:
                spec = TemplateSpec.parse(json_message["template"])
            except InvalidTemplateSpec as exc:
                logger.error("Template message for %s not sent: %s", recipient_id, exc)
                return
            await self.send_template(recipient_id, spec)
            return
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            await self.send_text_message(recipient_id, text)
        else:
            logger.debug("Custom JSON without text ignored for %s (keys: %s)", recipient_id,
                         sorted(json_message) if isinstance(json_message, dict) else type(json_message))

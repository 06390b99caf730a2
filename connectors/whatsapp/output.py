"""`WhatsAppOutput`: how Rasa's responses become WhatsApp messages.

- text: split at 1,600 characters on paragraph/line/sentence/word boundaries, parts sent in order;
- buttons / quick replies: WhatsApp buttons where they fit (`buttons.py`: up to 3 → quick-reply, up to
  10 → list picker, sent by Content SID from `content_store.py`, the text as its `{{1}}`); otherwise,
  or when the Content cannot be had, ONE message, the text plus "1. Título" lines. A long text goes
  first in parts, the buttons on the last part (≤ 1,024). Either way the options are remembered for
  the sender so a tap (ButtonPayload), "2" / "la 2" or the title maps back to the payload;
- image / attachment URL: a media message (`MediaUrl`);
- custom JSON: its "text" if present, otherwise ignored (debug log);
- any other keys of a response (facts, metadata, ...) are ignored.
Every send waits for Twilio's acceptance (see `sender.py`), so a turn's messages keep their order.
Each message of a turn is numbered (`reply_index`), so a retry of the turn can skip what went out
(`retried_turn.py`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel

from connectors.whatsapp.buttons import CONTENT_MAX_BODY, ContentSpec, button_descriptions, choose_content
from connectors.whatsapp.options import Option, options_from_buttons, render_options
from connectors.whatsapp.paths import CHANNEL_NAME, status_callback_url
from connectors.whatsapp.retried_turn import RetriedTurn
from connectors.whatsapp.sender import ContentMessage, OutboundSender
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.splitting import split_keeping_last, split_text
from rasa_project.metrics import OPTION_MESSAGES
from rasa_project.phones import WHATSAPP, Address, normalize_e164

logger = logging.getLogger(__name__)


class WhatsAppOutput(OutputChannel):
    """Output channel bound to one inbound message (`inbox_id`) or none (proactive messages)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sender: OutboundSender, senders: SenderStore, *, inbox_id: Optional[int] = None,
                 public_base_url: Optional[str] = None, kind: str = "bot",
                 retry: Optional[RetriedTurn] = None, medium: str = WHATSAPP) -> None:
        """`retry`: what earlier attempts of this turn sent, by reply position (retries only); `medium`:
        how the client wrote (`phones.SMS` gets numbered text, SMS has no buttons)."""
        self.sender = sender
        self.senders = senders
        self.inbox_id = inbox_id
        self.status_callback = status_callback_url(public_base_url)
        self.kind = kind
        self.retry = retry
        self.medium = medium
        self._next_index = 0

    async def send_one(self, recipient_id: str, body: Optional[str] = None, media_url: Optional[str] = None,
                    **kwargs: Any) -> bool:
        index: Optional[int] = None
        if self.inbox_id is not None:
            index, self._next_index = self._next_index, self._next_index + 1
        return await self.sender.send(recipient_id, body, media_url, inbox_id=self.inbox_id,
                                      status_callback=self.status_callback, kind=self.kind,
                                      reply_index=index, retry=self.retry, **kwargs)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(text or ""):
            await self.send_one(recipient_id, part)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        options = options_from_buttons(buttons)
        parts = split_keeping_last(text or "", CONTENT_MAX_BODY)
        to = Address(normalize_e164(recipient_id), self.medium).twilio
        spec = choose_content(options, parts[-1] if parts else "", to,
                              enabled=self.sender.twilio.settings.whatsapp_native_buttons,
                              descriptions=button_descriptions(buttons))
        sid = await self.sender.contents.sid_for(spec) if spec is not None else None
        if spec is not None and sid is not None:
            sent = await self._send_with_content(recipient_id, parts, options, spec, sid)
        else:
            if options:
                OPTION_MESSAGES.labels(form="fallback" if spec is not None else "numbered").inc()
            sent = False
            for part in split_text(render_options(text, options)):
                sent = await self.send_one(recipient_id, part) or sent
        if options and sent:
            await asyncio.to_thread(self.senders.store_options, normalize_e164(recipient_id), options)

    async def _send_with_content(self, recipient_id: str, parts: List[str], options: List[Option],
                                 spec: ContentSpec, sid: str) -> bool:
        """The text's leading parts as plain messages, the last one with the buttons."""
        OPTION_MESSAGES.labels(form="quick_reply" if spec.kind.endswith("quick-reply") else "list_picker").inc()
        sent = False
        for part in parts[:-1]:
            sent = await self.send_one(recipient_id, part) or sent
        last = parts[-1]
        content = ContentMessage(sid, spec.variables(last), render_options(last, options))
        return await self.send_one(recipient_id, last, content=content) or sent

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
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            await self.send_text_message(recipient_id, text)
        else:
            logger.debug("Custom JSON without text ignored for %s (keys: %s)", recipient_id,
                         sorted(json_message) if isinstance(json_message, dict) else type(json_message))

"""End to end: an SMS through the same webhook (bare `From`, our SMS number as `To`) is answered by SMS from
`TWILIO_SMS_NUMBER` at the Twilio sandbox, text only, with the stack under WhatsApp's window rule."""

from __future__ import annotations

from typing import Any, Dict, List

import httpx
import pytest
import sqlalchemy as sa

from rasa_project.devtools.local_stack import LocalStack
from rasa_project.devtools.whatsapp_simulator import build_inbound_form, post_inbound
from rasa_project.settings import Settings
from tests.e2e.support import AUTH_TOKEN

pytestmark = pytest.mark.e2e


async def _sms_to(http: httpx.AsyncClient, stack: LocalStack, number: str, wait: float) -> List[Dict[str, Any]]:
    """The sandbox's messages to `number` (a bare To: SMS), long-polled until the first arrives."""
    response = await http.get(f"{stack.twilio_url}/_sandbox/messages", params={"to": number, "after": 0, "wait": wait})
    return list(response.json()["messages"])


async def test_an_sms_is_answered_by_sms(stack: LocalStack, http: httpx.AsyncClient, new_phone: str,
                                        log_engine: sa.engine.Engine) -> None:
    window = (await http.get(f"{stack.twilio_url}/_sandbox/window")).json()
    assert window["enforce"] is True  # the stack runs under the real rule; SMS has no window
    form = build_inbound_form(new_phone, "hola", sms=True)
    response = await post_inbound(stack.webhook_url, form, AUTH_TOKEN, client=http)
    assert response.status_code == 200, response.text
    replies = await _sms_to(http, stack, new_phone, wait=45)
    sms_number = stack.env.get("TWILIO_SMS_NUMBER") or Settings().twilio_sms_number
    assert all((m["from"], m["content_sid"], m["media_urls"], m["status"] != "failed")
               == (sms_number, None, [], True) for m in replies), replies
    assert replies[0]["body"].strip()
    whatsapp = await http.get(f"{stack.twilio_url}/_sandbox/messages",
                              params={"to": f"whatsapp:{new_phone}", "after": 0, "wait": 0})
    assert whatsapp.json()["messages"] == []
    with log_engine.connect() as conn:
        medium = conn.execute(sa.text("SELECT medium FROM whatsapp_senders WHERE sender_id = :s"),
                              {"s": new_phone}).scalar()
    assert medium == "sms"

"""The webhooks a handoff lives on, as a real receiver gets them: shapes, signature, URL token, order."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from tests.chatwoot_sandbox.conftest import (
    ACCOUNT_ID,
    INBOX_ID,
    URL_TOKEN,
    Receiver,
    Sandbox,
    Starter,
    new_contact,
    new_conversation,
    signature_ok,
)

RAILS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f-]{36}$")


async def settle(sandbox: Sandbox, receiver: Receiver) -> List[Dict[str, Any]]:
    hooks = await sandbox.webhooks()
    assert hooks["settled"] and all(d["state"] == "delivered" for d in hooks["deliveries"]), hooks
    await receiver.wait(len(hooks["deliveries"]))
    return [call.body for call in receiver.calls]


async def test_agent_reply_is_a_signed_message_created(sandbox: Sandbox, receiver: Receiver) -> None:
    conversation = await new_conversation(sandbox, status="open")
    reply = await sandbox.control.post("/_sandbox/agent_reply", json={
        "conversation_id": conversation["id"], "content": "Hola Ana, soy Marta <del equipo> & te ayudo",
        "agent_name": "Marta"})
    assert reply.status_code == 201 and reply.json()["message"]["sender"]["name"] == "Marta"
    await settle(sandbox, receiver)
    call = next(c for c in receiver.calls if c.body["event"] == "message_created")
    body = call.body
    assert call.path == "/webhooks/chatwoot" and call.query == {"token": URL_TOKEN}
    assert signature_ok(call) and UUID.match(call.headers["X-Chatwoot-Delivery"])
    assert call.headers["Content-Type"] == "application/json"
    assert b"\\u003cdel equipo\\u003e \\u0026" in call.raw  # Rails escapes <>& in the raw body
    assert body["message_type"] == "outgoing" and body["private"] is False and body["source_id"] is None
    assert body["content"] == "Hola Ana, soy Marta <del equipo> & te ayudo"
    assert body["content_type"] == "text" and body["content_attributes"] == {}
    assert body["sender"] == {"id": reply.json()["agent"]["id"], "name": "Marta",
                              "email": "marta@sandbox.chatwoot.local", "type": "user"}
    assert body["account"] == {"id": ACCOUNT_ID, "name": "Estudio"}
    assert body["inbox"] == {"id": INBOX_ID, "name": "WhatsApp"}
    assert RAILS_TIME.match(body["created_at"]) and body["id"] == reply.json()["message"]["id"]
    chat = body["conversation"]
    assert chat["id"] == conversation["id"] and chat["status"] == "open" and chat["channel"] == "Channel::Api"
    assert chat["contact_inbox"]["source_id"] == "+5215512345678"
    assert chat["meta"]["sender"]["phone_number"] == "+5215512345678"
    assert chat["meta"]["sender"]["type"] == "contact"
    assert chat["messages"][0]["content"] == body["content"] and chat["messages"][0]["message_type"] == 1
    assert chat["messages"][0]["conversation"]["contact_inbox"] == {"source_id": "+5215512345678"}
    assert isinstance(chat["updated_at"], float) and chat["custom_attributes"] == {"handoff": False}


async def test_private_note_from_an_agent(sandbox: Sandbox, receiver: Receiver) -> None:
    conversation = await new_conversation(sandbox, status="open")
    await sandbox.control.post("/_sandbox/agent_reply", json={
        "conversation_id": conversation["id"], "content": "Ojo: cliente VIP", "private": True})
    bodies = await settle(sandbox, receiver)
    note = next(b for b in bodies if b["event"] == "message_created")
    assert note["private"] is True and note["sender"]["name"] == "Agente"
    assert note["conversation"]["messages"] == []  # the last *chat* message: notes are not chat


async def test_handoff_flow_events_in_order(sandbox: Sandbox, receiver: Receiver) -> None:
    """Bot-handled, client asks for a human, the bot opens it, an agent answers and resolves it."""
    conversation = await new_conversation(sandbox, status="pending")
    cid = conversation["id"]
    await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "Quiero un humano",
                                                                  "message_type": "incoming"})
    await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "Te paso con el equipo",
                                                                  "message_type": "outgoing"})
    await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "open"})
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola"})
    resolved = await sandbox.control.post("/_sandbox/resolve", json={"conversation_id": cid})
    assert resolved.json() == {"conversation_id": cid, "previous_status": "open", "current_status": "resolved"}
    bodies = await settle(sandbox, receiver)
    assert [b["event"] for b in bodies] == [
        "conversation_created",
        "message_created",  # the client's message, mirrored by the assistant
        "message_created", "conversation_updated",  # the bot's reply is the first human-typed reply (a user's)
        "conversation_status_changed", "conversation_updated",  # pending -> open
        "message_created",  # the agent
        "conversation_status_changed", "conversation_updated",  # open -> resolved
    ]
    client, bot, agent = (b for b in bodies if b["event"] == "message_created")
    assert client["message_type"] == "incoming" and client["sender"]["type"] == "contact"
    assert client["sender"]["phone_number"] == "+5215512345678"
    assert bot["sender"]["name"] == "Asistente" and agent["sender"]["name"] == "Agente"
    assert bot["sender"]["id"] != agent["sender"]["id"]  # how the receiver tells its own posts apart
    first_reply = bodies[3]["changed_attributes"]
    assert [list(change) for change in first_reply] == [["first_reply_created_at"], ["waiting_since"], ["updated_at"]]
    opened, resolved_event = bodies[4], bodies[7]
    assert opened["status"] == "open"
    assert opened["changed_attributes"] == [{"status": {"previous_value": "pending", "current_value": "open"}}]
    assert resolved_event["status"] == "resolved" and resolved_event["meta"]["sender"]["phone_number"]
    assert resolved_event["changed_attributes"] == [
        {"status": {"previous_value": "open", "current_value": "resolved"}}]
    updated = bodies[8]["changed_attributes"]
    assert updated[0] == {"status": {"previous_value": "open", "current_value": "resolved"}}
    assert list(updated[-1]) == ["updated_at"]
    assert bodies[7]["waiting_since"] == 0  # resolving clears waiting_since
    assert [c.headers["X-Chatwoot-Delivery"] for c in receiver.calls] == [
        d["delivery_id"] for d in (await sandbox.webhooks())["deliveries"]]


async def test_client_writing_after_resolve_reopens_before_the_message(sandbox: Sandbox, receiver: Receiver) -> None:
    cid = (await new_conversation(sandbox, status="open"))["id"]
    await sandbox.control.post("/_sandbox/resolve", json={"conversation_id": cid, "agent_name": "Marta"})
    await sandbox.webhooks()
    already = len(receiver.calls)
    await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "Una cosa más",
                                                                  "message_type": "incoming"})
    bodies = (await settle(sandbox, receiver))[already:]
    assert [b["event"] for b in bodies] == [
        "conversation_status_changed", "conversation_updated", "message_created", "conversation_updated"]
    assert bodies[0]["changed_attributes"] == [{"status": {"previous_value": "resolved", "current_value": "open"}}]
    assert bodies[2]["conversation"]["status"] == "open"
    assert [list(change) for change in bodies[3]["changed_attributes"]] == [["waiting_since"], ["updated_at"]]


async def test_custom_attributes_and_status_control(sandbox: Sandbox, receiver: Receiver) -> None:
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.api.post(f"/conversations/{cid}/custom_attributes", json={"custom_attributes": {"agente": "x"}})
    snoozed = await sandbox.control.post("/_sandbox/status", json={"conversation_id": cid, "status": "snoozed"})
    assert snoozed.json()["current_status"] == "snoozed"
    bodies = await settle(sandbox, receiver)
    assert [b["event"] for b in bodies] == [
        "conversation_created", "conversation_updated", "conversation_status_changed", "conversation_updated"]
    assert bodies[1]["changed_attributes"][0] == {"custom_attributes": {
        "previous_value": {"handoff": False}, "current_value": {"agente": "x"}}}
    assert bodies[2]["status"] == "snoozed"


async def test_subscriptions_choose_the_events(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("message_created", "contact_created"))
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola"})
    await sandbox.control.post("/_sandbox/resolve", json={"conversation_id": cid})
    bodies = await settle(sandbox, receiver)
    assert [b["event"] for b in bodies] == ["contact_created", "message_created"]
    contact = bodies[0]
    assert contact["phone_number"] == "+5215512345678" and contact["type"] == "contact"
    assert contact["account"] == {"id": ACCOUNT_ID, "name": "Estudio"}


async def test_no_webhook_url_sends_nothing(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_url=None)
    contact = (await new_contact(sandbox))["contact"]
    assert contact["id"] == 1
    hooks = await sandbox.webhooks()
    assert hooks["deliveries"] == [] and hooks["url"] is None and receiver.calls == []

"""Conversations and messages through the Application API."""

from __future__ import annotations

from tests.chatwoot_sandbox.conftest import INBOX_ID, Sandbox, new_contact, new_conversation


async def test_create_and_show(sandbox: Sandbox) -> None:
    created = await new_conversation(sandbox, status="pending")
    assert created["id"] == 1 and created["status"] == "pending" and created["inbox_id"] == INBOX_ID
    assert created["meta"]["sender"]["phone_number"] == "+5215512345678"
    assert created["meta"]["channel"] == "Channel::Api"
    assert created["additional_attributes"] == {"channel": "whatsapp"}
    assert created["custom_attributes"] == {"handoff": False}
    assert created["messages"] == [] and created["unread_count"] == 0
    shown = await sandbox.api.get(f"/conversations/{created['id']}")
    assert shown.status_code == 200 and shown.json() == created


async def test_status_defaults_to_open_and_source_id_alone_finds_the_contact(sandbox: Sandbox) -> None:
    await new_contact(sandbox, "+5215512345678", source_id="+5215512345678")
    by_source = await sandbox.api.post("/conversations", json={"source_id": "+5215512345678"})
    assert by_source.status_code == 200
    assert by_source.json()["status"] == "open"  # no agent bot on the inbox: Chatwoot's default
    assert by_source.json()["meta"]["sender"]["name"] == "Ana López"


async def test_without_source_id_each_conversation_gets_a_new_contact_inbox(sandbox: Sandbox) -> None:
    contact = (await new_contact(sandbox))["contact"]
    for _ in range(2):
        response = await sandbox.api.post("/conversations", json={"inbox_id": INBOX_ID, "contact_id": contact["id"]})
        assert response.status_code == 200
    shown = (await sandbox.api.get(f"/contacts/{contact['id']}")).json()["payload"]
    assert len(shown["contact_inboxes"]) == 3


async def test_list_filters_by_status_and_inbox(sandbox: Sandbox) -> None:
    pending = await new_conversation(sandbox, "+5215511111111", status="pending")
    opened = await new_conversation(sandbox, "+5215522222222", status="open")
    resolved = await new_conversation(sandbox, "+5215533333333", status="resolved")

    async def listed(**params: str | int) -> list:
        response = await sandbox.api.get("/conversations", params=params)
        assert response.status_code == 200
        return [c["id"] for c in response.json()["data"]["payload"]]

    assert await listed() == [opened["id"]]  # open when no status is given
    assert await listed(status="pending") == [pending["id"]]
    assert await listed(status="resolved", inbox_id=INBOX_ID) == [resolved["id"]]
    assert sorted(await listed(status="all")) == [pending["id"], opened["id"], resolved["id"]]
    assert await listed(status="all", inbox_id=INBOX_ID + 1) == []
    meta = (await sandbox.api.get("/conversations", params={"status": "all"})).json()["data"]["meta"]
    assert meta == {"mine_count": 0, "assigned_count": 0, "unassigned_count": 3, "all_count": 3}
    await sandbox.api.post(f"/conversations/{pending['id']}/messages",
                           json={"content": "hola", "message_type": "incoming"})
    assert (await listed(status="all"))[0] == pending["id"]  # newest activity first


async def test_toggle_status(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox, status="pending"))["id"]
    opened = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "open"})
    assert opened.status_code == 200
    assert opened.json() == {"meta": {}, "payload": {"success": True, "conversation_id": cid,
                                                      "current_status": "open", "snoozed_until": None}}
    toggled = await sandbox.api.post(f"/conversations/{cid}/toggle_status")
    assert toggled.json()["payload"]["current_status"] == "resolved"
    toggled_back = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={})
    assert toggled_back.json()["payload"]["current_status"] == "open"
    snoozed = await sandbox.api.post(f"/conversations/{cid}/toggle_status",
                                     json={"status": "snoozed", "snoozed_until": 1893456000})
    assert snoozed.json()["payload"]["snoozed_until"] == "2030-01-01T00:00:00.000Z"
    pending = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "pending"})
    assert pending.json()["payload"] == {"success": True, "conversation_id": cid, "current_status": "pending",
                                         "snoozed_until": None}
    assert (await sandbox.api.get(f"/conversations/{cid}")).json()["status"] == "pending"


async def test_custom_attributes_replace_the_object(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    response = await sandbox.api.post(f"/conversations/{cid}/custom_attributes",
                                      json={"custom_attributes": {"motivo": "queja"}})
    assert (response.status_code, response.json()) == (200, {"custom_attributes": {"motivo": "queja"}})
    shown = (await sandbox.api.get(f"/conversations/{cid}")).json()
    assert shown["custom_attributes"] == {"motivo": "queja"}  # "handoff" is gone: replaced, not merged


async def test_messages_incoming_outgoing_private(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    incoming = await sandbox.api.post(f"/conversations/{cid}/messages", json={
        "content": "Quiero hablar con alguien", "message_type": "incoming", "source_id": "SM123"})
    outgoing = await sandbox.api.post(f"/conversations/{cid}/messages", json={
        "content": "Te paso con el equipo", "echo_id": "bot-1", "content_attributes": {"origen": "bot"}})
    note = await sandbox.api.post(f"/conversations/{cid}/messages", json={
        "content": "Cliente pide humano", "message_type": "outgoing", "private": True})
    assert incoming.status_code == outgoing.status_code == note.status_code == 200
    first, second, third = incoming.json(), outgoing.json(), note.json()
    assert first["message_type"] == 0 and first["sender"]["type"] == "contact" and first["source_id"] == "SM123"
    assert first["sender"]["phone_number"] == "+5215512345678" and first["conversation_id"] == cid
    assert second["message_type"] == 1 and second["sender"]["type"] == "user"
    assert second["sender"]["name"] == "Asistente" and second["echo_id"] == "bot-1"
    assert second["content_attributes"] == {"origen": "bot"} and second["private"] is False
    assert third["private"] is True and isinstance(third["created_at"], int)
    listed = await sandbox.api.get(f"/conversations/{cid}/messages")
    assert listed.status_code == 200
    body = listed.json()
    assert [m["id"] for m in body["payload"]] == [first["id"], second["id"], third["id"]]
    assert body["meta"]["contact"]["phone_number"] == "+5215512345678"
    shown = (await sandbox.api.get(f"/conversations/{cid}")).json()
    assert shown["messages"][0]["id"] == third["id"] and shown["unread_count"] == 1
    assert shown["first_reply_created_at"] == second["created_at"]


async def test_message_pages_and_activity_messages(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    ids = []
    for number in range(22):
        sent = await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": f"m{number}"})
        ids.append(sent.json()["id"])
    latest = (await sandbox.api.get(f"/conversations/{cid}/messages")).json()["payload"]
    assert [m["id"] for m in latest] == ids[-20:]
    older = (await sandbox.api.get(f"/conversations/{cid}/messages", params={"before": ids[2]})).json()["payload"]
    assert [m["id"] for m in older] == ids[:2]
    await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "open"})
    last = (await sandbox.api.get(f"/conversations/{cid}/messages")).json()["payload"][-1]
    assert last["message_type"] == 2 and last["content"] == "Conversation was reopened by Asistente"
    assert "sender" not in last


async def test_incoming_message_reopens_a_resolved_conversation(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox, status="resolved"))["id"]
    await sandbox.api.post(f"/conversations/{cid}/messages",
                           json={"content": "¿Siguen ahí?", "message_type": "incoming"})
    shown = (await sandbox.api.get(f"/conversations/{cid}")).json()
    assert shown["status"] == "open"
    messages = (await sandbox.api.get(f"/conversations/{cid}/messages")).json()["payload"]
    assert [m["content"] for m in messages] == [
        "¿Siguen ahí?", "System reopened the conversation due to a new incoming message."]
    outgoing = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "resolved"})
    await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "Listo", "message_type": "outgoing"})
    assert outgoing.json()["payload"]["current_status"] == "resolved"
    assert (await sandbox.api.get(f"/conversations/{cid}")).json()["status"] == "resolved"  # outgoing: no reopen


async def test_create_with_a_first_message(sandbox: Sandbox) -> None:
    await new_contact(sandbox, "+5215512345678", source_id="+5215512345678")
    response = await sandbox.api.post("/conversations", json={
        "source_id": "+5215512345678", "status": "pending", "message": {"content": "Hola, ¿en qué te ayudo?"}})
    assert response.status_code == 200
    cid = response.json()["id"]
    messages = (await sandbox.api.get(f"/conversations/{cid}/messages")).json()["payload"]
    assert [(m["content"], m["message_type"]) for m in messages] == [("Hola, ¿en qué te ayudo?", 1)]

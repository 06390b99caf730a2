"""The Chatwoot client against the stand-in: the calls the mirror makes, and each error typed."""

from __future__ import annotations

import pytest

from rasa_project.helpdesk.chatwoot_client import (
    ChatwootAuthError,
    ChatwootClient,
    ChatwootInvalid,
    ChatwootNotFound,
    ChatwootUnavailable,
)
from tests.helpdesk.conftest import ACCOUNT_ID, INBOX_ID, Chatwoot

PHONE = "+5215512345678"


async def test_find_or_create_contact_creates_once_then_finds(chatwoot: Chatwoot, client: ChatwootClient) -> None:
    first = await client.find_or_create_contact(PHONE, "Ana López")
    again = await client.find_or_create_contact(PHONE, "Ana López")
    assert first == again and first.source_id == PHONE
    contacts = (await chatwoot.state())["contacts"]
    assert [(c["phone_number"], c["identifier"], c["name"]) for c in contacts] == [(PHONE, PHONE, "Ana López")]
    searches = [r for r in (await chatwoot.state())["api_requests"] if r["path"].endswith("/contacts/search")]
    assert searches and all(r["status"] == 200 for r in searches)


async def test_a_contact_made_by_hand_gets_a_contact_inbox_in_ours(chatwoot: Chatwoot, client: ChatwootClient) -> None:
    created = await client._call("POST", f"/api/v1/accounts/{ACCOUNT_ID}/contacts",
                                 json={"name": "Luis", "phone_number": PHONE})  # no inbox: an agent typed it in
    ref = await client.find_or_create_contact(PHONE)
    assert ref.contact_id == created["payload"]["contact"]["id"] and ref.source_id == PHONE


async def test_conversation_pending_messages_notes_and_status(chatwoot: Chatwoot, client: ChatwootClient) -> None:
    ref = await client.find_or_create_contact(PHONE)
    conversation_id = await client.create_conversation(ref, custom_attributes={"whatsapp": PHONE})
    conversation = await client.get_conversation(conversation_id)
    assert conversation["status"] == "pending" and conversation["inbox_id"] == INBOX_ID
    await client.post_message(conversation_id, "hola", incoming=True, source_id="assistant:1")
    await client.post_message(conversation_id, "¡Hola! ¿En qué te ayudo?", source_id="assistant:2")
    await client.post_message(conversation_id, "nota", private=True, source_id="assistant:3")
    assert await client.toggle_status(conversation_id, "open") == "open"
    messages = [m for m in await client.list_messages(conversation_id) if m["message_type"] != 2]
    assert [(m["content"], m["message_type"], m["private"]) for m in messages] == [
        ("hola", 0, False), ("¡Hola! ¿En qué te ayudo?", 1, False), ("nota", 1, True)]
    found = await client.find_message(conversation_id, "assistant:2")
    assert found is not None and found["content"] == "¡Hola! ¿En qué te ayudo?"
    assert await client.find_message(conversation_id, "assistant:99") is None


async def test_errors_are_typed(chatwoot: Chatwoot, client: ChatwootClient) -> None:
    wrong = ChatwootClient(chatwoot.url, ACCOUNT_ID, INBOX_ID, "wrong-token")
    try:
        with pytest.raises(ChatwootAuthError):
            await wrong.profile()
    finally:
        await wrong.aclose()
    with pytest.raises(ChatwootNotFound):
        await client.get_conversation(12345)
    ref = await client.find_or_create_contact(PHONE)
    conversation_id = await client.create_conversation(ref)
    with pytest.raises(ChatwootInvalid):
        await client.toggle_status(conversation_id, "archived")
    await chatwoot.faults({"status": 503, "count": 1, "path": "/messages", "method": "POST"})
    with pytest.raises(ChatwootUnavailable):  # a write that may have landed is never retried here
        await client.post_message(conversation_id, "x")


async def test_reads_are_retried_through_a_short_outage(chatwoot: Chatwoot, client: ChatwootClient) -> None:
    await chatwoot.faults({"status": 502, "count": 2, "path": "/profile"})
    assert (await client.profile())["type"] == "user"


async def test_chatwoot_unreachable_is_unavailable() -> None:
    from rasa_project.devtools.local_stack import free_port

    nowhere = ChatwootClient(f"http://127.0.0.1:{free_port()}", 1, 1, "t", backoff_base=0.01)
    try:
        with pytest.raises(ChatwootUnavailable):
            await nowhere.profile()
    finally:
        await nowhere.aclose()

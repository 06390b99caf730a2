"""Contacts and contact inboxes: create (with the inbox's source id), search, show, add a contact inbox."""

from __future__ import annotations

import re

from tests.chatwoot_sandbox.conftest import INBOX_ID, Sandbox, new_contact

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def test_create_with_inbox_makes_the_contact_inbox(sandbox: Sandbox) -> None:
    payload = await new_contact(sandbox, "+5215512345678", name="Ana López")
    contact, contact_inbox = payload["contact"], payload["contact_inbox"]
    assert contact["id"] == 1 and contact["name"] == "Ana López"
    assert contact["phone_number"] == "+5215512345678" and contact["identifier"] == "wa:+5215512345678"
    assert isinstance(contact["created_at"], int) and contact["custom_attributes"] == {}
    assert UUID.match(contact_inbox["source_id"])  # API channels get a UUID when none is given
    assert contact_inbox["inbox"]["id"] == INBOX_ID and contact_inbox["inbox"]["channel_type"] == "Channel::Api"
    assert contact["contact_inboxes"] == [
        {"source_id": contact_inbox["source_id"], "inbox": contact["contact_inboxes"][0]["inbox"]}]
    assert contact["contact_inboxes"][0]["inbox"]["name"] == "WhatsApp"


async def test_create_with_source_id_and_without_inbox(sandbox: Sandbox) -> None:
    chosen = await new_contact(sandbox, "+5215512345678", source_id="whatsapp:+5215512345678")
    assert chosen["contact_inbox"]["source_id"] == "whatsapp:+5215512345678"
    bare = await sandbox.api.post("/contacts", json={"name": "Sin inbox", "email": "Sin@Example.com",
                                                     "custom_attributes": {"cliente": True}})
    assert bare.status_code == 200
    payload = bare.json()["payload"]
    assert payload["contact_inbox"] == {"inbox": None, "source_id": None}
    assert payload["contact"]["contact_inboxes"] == []
    assert payload["contact"]["email"] == "sin@example.com"  # Chatwoot downcases emails
    assert payload["contact"]["custom_attributes"] == {"cliente": True}


async def test_search_by_phone_identifier_name_and_id(sandbox: Sandbox) -> None:
    ana = (await new_contact(sandbox, "+5215512345678", name="Ana López"))["contact"]
    luis = (await new_contact(sandbox, "+5215598765432", name="Luis Pérez"))["contact"]

    async def search(query: str) -> list:
        response = await sandbox.api.get("/contacts/search", params={"q": query})
        assert response.status_code == 200, response.text
        return [contact["id"] for contact in response.json()["payload"]]

    assert await search("+5215512345678") == [ana["id"]]  # sent as %2B
    raw_plus = await sandbox.api.get("/contacts/search?q=+5215598765432")  # a raw + is a space, stripped
    assert [c["id"] for c in raw_plus.json()["payload"]] == [luis["id"]]
    assert await search("wa:+5215598765432") == [luis["id"]]
    assert await search("ana lópez") == [ana["id"]]  # ILIKE on the name
    assert await search("WA:+52155") == []  # the identifier is matched with LIKE (case-sensitive)
    assert await search("nadie") == []
    body = (await sandbox.api.get("/contacts/search", params={"q": "+52155"})).json()
    assert body["meta"] == {"count": 2, "current_page": 1, "has_more": False}
    assert body["payload"][0]["contact_inboxes"][0]["inbox"]["id"] == INBOX_ID


async def test_search_pages_by_fifteen(sandbox: Sandbox) -> None:
    for number in range(16):
        await new_contact(sandbox, f"+52155000000{number:02d}", name=f"Cliente {number}")
    first = (await sandbox.api.get("/contacts/search", params={"q": "Cliente"})).json()
    second = (await sandbox.api.get("/contacts/search", params={"q": "Cliente", "page": 2})).json()
    assert first["meta"] == {"count": 15, "current_page": 1, "has_more": True}
    assert second["meta"] == {"count": 1, "current_page": "2", "has_more": False}  # params[:page] stays a string


async def test_show_contact(sandbox: Sandbox) -> None:
    created = (await new_contact(sandbox))["contact"]
    response = await sandbox.api.get(f"/contacts/{created['id']}")
    assert response.status_code == 200
    assert response.json()["payload"] == created


async def test_add_contact_inbox_is_idempotent(sandbox: Sandbox) -> None:
    contact = (await new_contact(sandbox))["contact"]
    added = await sandbox.api.post(f"/contacts/{contact['id']}/contact_inboxes",
                                   json={"inbox_id": INBOX_ID, "source_id": "+5215512345678"})
    again = await sandbox.api.post(f"/contacts/{contact['id']}/contact_inboxes",
                                   json={"inbox_id": INBOX_ID, "source_id": "+5215512345678"})
    generated = await sandbox.api.post(f"/contacts/{contact['id']}/contact_inboxes", json={"inbox_id": INBOX_ID})
    assert added.status_code == again.status_code == generated.status_code == 200
    assert added.json() == again.json()
    assert added.json()["source_id"] == "+5215512345678" and added.json()["inbox"]["id"] == INBOX_ID
    assert UUID.match(generated.json()["source_id"])
    shown = (await sandbox.api.get(f"/contacts/{contact['id']}")).json()["payload"]
    assert len(shown["contact_inboxes"]) == 3
    missing_inbox = await sandbox.api.post(f"/contacts/{contact['id']}/contact_inboxes", json={"source_id": "x"})
    assert missing_inbox.status_code == 404

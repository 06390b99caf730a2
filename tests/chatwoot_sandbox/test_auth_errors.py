"""Auth and error answers as Chatwoot gives them: 401 bodies, 404 for unknown ids, 422 for bad input."""

from __future__ import annotations

import httpx

from tests.chatwoot_sandbox.conftest import ACCOUNT_ID, API_TOKEN, INBOX_ID, Sandbox, new_contact, new_conversation

SIGN_IN = {"errors": ["You need to sign in or sign up before continuing."]}
NOT_FOUND = {"error": "Resource could not be found"}


async def test_missing_token_gets_devise_message(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as anonymous:
        response = await anonymous.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations")
        bearer = await anonymous.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})
        empty = await anonymous.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations",
                                    headers={"api_access_token": ""})
    assert (response.status_code, response.json()) == (401, SIGN_IN)
    assert (bearer.status_code, bearer.json()) == (401, SIGN_IN)  # Chatwoot does not read Bearer tokens
    assert (empty.status_code, empty.json()) == (401, SIGN_IN)


async def test_wrong_token_and_hyphenated_header(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as client:
        wrong = await client.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations",
                                 headers={"api_access_token": "nope"})
        hyphen = await client.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations",
                                  headers={"api-access-token": API_TOKEN})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid Access Token"})
    assert hyphen.status_code == 200


async def test_another_account_and_unknown_paths(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers={"api_access_token": API_TOKEN}) as client:
        other = await client.get(f"/api/v1/accounts/{ACCOUNT_ID + 1}/conversations")
        unknown_route = await client.get(f"/api/v1/accounts/{ACCOUNT_ID}/nothing-here")
    async with httpx.AsyncClient(base_url=sandbox.base_url) as anonymous:
        unknown_anonymous = await anonymous.get(f"/api/v1/accounts/{ACCOUNT_ID}/nothing-here")
    assert (other.status_code, other.json()) == (404, NOT_FOUND)
    assert unknown_route.status_code == 404
    assert unknown_anonymous.status_code == 404  # routing comes before authentication


async def test_profile_names_the_token_user(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers={"api_access_token": API_TOKEN}) as client:
        profile = (await client.get("/api/v1/profile")).json()
    assert profile["name"] == "Asistente" and profile["type"] == "user"
    assert profile["access_token"] == API_TOKEN
    assert profile["accounts"][0]["id"] == ACCOUNT_ID


async def test_unknown_ids_are_404(sandbox: Sandbox) -> None:
    conversation = await new_conversation(sandbox)
    calls = [
        sandbox.api.get("/contacts/999"),
        sandbox.api.get("/contacts/abc"),
        sandbox.api.post("/contacts/999/contact_inboxes", json={"inbox_id": INBOX_ID}),
        sandbox.api.get("/conversations/999"),
        sandbox.api.get("/conversations/999/messages"),
        sandbox.api.post("/conversations/999/messages", json={"content": "hola"}),
        sandbox.api.post("/conversations/999/toggle_status", json={"status": "open"}),
        sandbox.api.post("/conversations/999/custom_attributes", json={"custom_attributes": {}}),
        sandbox.api.post("/conversations", json={"source_id": "nobody", "inbox_id": INBOX_ID}),
        sandbox.api.post("/conversations", json={"inbox_id": 99, "contact_id": conversation["meta"]["sender"]["id"]}),
        sandbox.api.post("/conversations", json={"inbox_id": INBOX_ID, "contact_id": 999}),
        sandbox.api.post("/contacts", json={"name": "X", "inbox_id": 99}),
    ]
    for call in calls:
        response = await call
        assert (response.status_code, response.json()) == (404, NOT_FOUND), response.request.url
    state = (await sandbox.control.get("/_sandbox/state")).json()
    assert [c["name"] for c in state["contacts"]] == ["Ana López"]  # the 404 create left nothing behind


async def test_invalid_contacts_are_422_with_message_and_attributes(sandbox: Sandbox) -> None:
    bad_phone = await sandbox.api.post("/contacts", json={"name": "Ana", "phone_number": "5512345678"})
    assert bad_phone.status_code == 422
    assert bad_phone.json() == {"message": "Phone number should be in e164 format", "attributes": ["phone_number"]}
    await new_contact(sandbox, "+5215512345678")
    duplicate = await sandbox.api.post("/contacts", json={
        "name": "Otra", "phone_number": "+5215512345678", "identifier": "wa:+5215512345678", "email": "no-at"})
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "message": "Email Invalid email, Identifier has already been taken, Phone number has already been taken",
        "attributes": ["email", "identifier", "phone_number"],
    }


async def test_other_invalid_input(sandbox: Sandbox) -> None:
    conversation = await new_conversation(sandbox)
    cid = conversation["id"]
    no_query = await sandbox.api.get("/contacts/search")
    assert (no_query.status_code, no_query.json()) == (422, {"error": "Specify search string with parameter q"})
    bad_type = await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "x", "message_type": "foo"})
    assert (bad_type.status_code, bad_type.json()) == (422, {"error": "'foo' is not a valid message_type"})
    bad_status = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "bot"})
    assert bad_status.status_code == 422 and bad_status.json()["message"] == "'bot' is not a valid status"
    bad_create = await sandbox.api.post("/conversations", json={"source_id": "+5215512345678", "status": "bot"})
    assert bad_create.status_code == 422 and bad_create.json()["attributes"] == ["status"]
    no_attributes = await sandbox.api.post(f"/conversations/{cid}/custom_attributes", json={"x": 1})
    assert no_attributes.status_code == 422 and "custom_attributes" in no_attributes.json()["error"]
    broken = await sandbox.api.post("/contacts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (broken.status_code, broken.json()) == (400, {"status": 400, "error": "Bad Request"})


async def test_source_id_held_by_another_contact(sandbox: Sandbox) -> None:
    await new_conversation(sandbox, "+5215512345678")
    other = (await new_contact(sandbox, "+5215598765432", name="Luis"))["contact"]
    conversation = await sandbox.api.post("/conversations", json={
        "source_id": "+5215512345678", "inbox_id": INBOX_ID, "contact_id": other["id"]})
    assert (conversation.status_code, conversation.json()) == (422, {"error": "source_id should be unique"})
    contact_inbox = await sandbox.api.post(f"/contacts/{other['id']}/contact_inboxes",
                                           json={"inbox_id": INBOX_ID, "source_id": "+5215512345678"})
    contact = await sandbox.api.post("/contacts", json={"name": "Eva", "inbox_id": INBOX_ID,
                                                        "source_id": "+5215512345678"})
    for response in (contact_inbox, contact):  # unrescued ActiveRecord::RecordNotUnique in Chatwoot
        assert (response.status_code, response.json()) == (500, {"status": 500, "error": "Internal Server Error"})

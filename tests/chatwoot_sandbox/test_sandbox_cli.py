"""`python -m rasa_project.sandboxes.chatwoot` serves the API and sends signed webhooks."""

from __future__ import annotations

import asyncio
import sys

import httpx

from rasa_project.devtools.local_stack import free_port
from rasa_project.settings import PROJECT_ROOT
from tests.chatwoot_sandbox.conftest import Receiver, signature_ok


async def test_module_entry_point_serves(receiver: Receiver) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rasa_project.sandboxes.chatwoot", "--host", "127.0.0.1", "--port", str(port),
        "--account-id", "4", "--inbox-id", "2", "--api-token", "cli-token",
        "--webhook-url", f"{receiver.url}/webhooks/chatwoot?token=abc", "--webhook-secret", "cw-webhook-secret",
        "--webhook-events", "message_created", "--retry-delays", "0.1",
        cwd=str(PROJECT_ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(150):
                try:
                    await http.get("/_sandbox/state")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("sandbox did not start")
            api = {"api_access_token": "cli-token"}
            contact = await http.post("/api/v1/accounts/4/contacts", headers=api, json={
                "name": "Ana", "phone_number": "+5215512345678", "inbox_id": 2, "source_id": "+5215512345678"})
            conversation = await http.post("/api/v1/accounts/4/conversations", headers=api, json={
                "source_id": "+5215512345678", "inbox_id": 2,
                "contact_id": contact.json()["payload"]["contact"]["id"], "status": "pending"})
            cid = conversation.json()["id"]
            reply = await http.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola"})
            hooks = (await http.get("/_sandbox/webhooks", params={"wait": 5})).json()
        assert contact.status_code == conversation.status_code == 200 and reply.status_code == 201
        assert [(d["event"], d["state"]) for d in hooks["deliveries"]] == [("message_created", "delivered")]
        (call,) = await receiver.wait(1)
        assert signature_ok(call) and call.query == {"token": "abc"}
        assert call.body["conversation"]["contact_inbox"]["source_id"] == "+5215512345678"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)

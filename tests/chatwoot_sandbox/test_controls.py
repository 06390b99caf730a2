"""The `/_sandbox/` controls: state, faults (Chatwoot down or hung), reset, webhook records, bad input."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import httpx
import pytest

from tests.chatwoot_sandbox.conftest import ACCOUNT_ID, Receiver, Sandbox, new_conversation


async def test_state_shows_everything(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola",
                                                              "agent_name": "Marta"})
    state = (await sandbox.control.get("/_sandbox/state")).json()
    assert state["account"] == {"id": ACCOUNT_ID, "name": "Estudio"}
    assert state["inbox"]["channel_type"] == "Channel::Api"
    assert state["inbox"]["webhook_url"].endswith("token=url-shared-token")
    assert [(u["name"], u["role"]) for u in state["users"]] == [("Asistente", "administrator"), ("Marta", "agent")]
    assert [c["phone_number"] for c in state["contacts"]] == ["+5215512345678"]
    assert [c["id"] for c in state["conversations"]] == [cid]
    assert [(m["content"], m["sender"]["name"]) for m in state["messages"]] == [("Hola", "Marta")]
    assert [(r["method"], r["path"], r["status"]) for r in state["api_requests"]] == [
        ("POST", f"/api/v1/accounts/{ACCOUNT_ID}/contacts", 200),
        ("POST", f"/api/v1/accounts/{ACCOUNT_ID}/conversations", 200)]


async def test_status_faults_fail_the_next_calls(sandbox: Sandbox) -> None:
    added = await sandbox.control.post("/_sandbox/faults", json={"outcomes": [{"status": 503, "count": 2}]})
    assert added.status_code == 200 and added.json()["pending"][0]["count"] == 2
    first = await sandbox.api.get("/conversations")
    async with httpx.AsyncClient(base_url=sandbox.base_url) as anonymous:  # Chatwoot down: before any auth
        second = await anonymous.get(f"/api/v1/accounts/{ACCOUNT_ID}/conversations")
    third = await sandbox.api.get("/conversations")
    assert (first.status_code, first.json()) == (503, {"status": 503, "error": "Service Unavailable"})
    assert second.status_code == 503 and third.status_code == 200
    assert (await sandbox.control.get("/_sandbox/faults")).json() == {"pending": []}


async def test_faults_can_target_a_path_and_method(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.control.post("/_sandbox/faults", json={"status": 500, "path": "/messages", "method": "post"})
    listed = await sandbox.api.get(f"/conversations/{cid}/messages")
    other = await sandbox.api.post(f"/conversations/{cid}/toggle_status", json={"status": "open"})
    failed = await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "hola"})
    again = await sandbox.api.post(f"/conversations/{cid}/messages", json={"content": "hola"})
    assert (listed.status_code, other.status_code, failed.status_code, again.status_code) == (200, 200, 500, 200)
    state = (await sandbox.control.get("/_sandbox/state")).json()
    assert [m["content"] for m in state["messages"] if m["message_type"] != 2] == ["hola"]


async def test_a_hung_chatwoot_times_the_client_out(sandbox: Sandbox) -> None:
    await sandbox.control.post("/_sandbox/faults", json={"outcomes": [{"delay_ms": 1500}]})
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(httpx.ReadTimeout):
        await sandbox.api.get("/conversations", timeout=0.3)
    assert loop.time() - started < 1.0
    delayed_then_failing = {"outcomes": [{"delay_ms": 100, "status": 502}]}
    await sandbox.control.post("/_sandbox/faults", json=delayed_then_failing)
    response = await sandbox.api.get("/conversations")
    assert response.status_code == 502 and response.json()["error"] == "Bad Gateway"


async def test_clearing_and_rejecting_faults(sandbox: Sandbox) -> None:
    await sandbox.control.post("/_sandbox/faults", json={"outcomes": [{"status": 503, "count": 5}]})
    cleared = await sandbox.control.delete("/_sandbox/faults")
    assert cleared.status_code == 204
    assert (await sandbox.api.get("/conversations")).status_code == 200
    bad: Dict[str, Any]
    for bad in ({"outcomes": [{"status": 200}]}, {"outcomes": [{"count": 2}]}, {"outcomes": []},
                {"outcomes": [{"delay_ms": -1}]}, {"nothing": True}):
        response = await sandbox.control.post("/_sandbox/faults", json=bad)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    not_json = await sandbox.control.post("/_sandbox/faults", content=b"[1,")
    assert not_json.status_code == 400


async def test_reset_starts_over(sandbox: Sandbox, receiver: Receiver) -> None:
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola"})
    await sandbox.control.post("/_sandbox/faults", json={"status": 503, "path": "/nothing"})
    await sandbox.webhooks()
    reset = await sandbox.control.post("/_sandbox/reset")
    assert reset.json() == {"reset": True}
    state = (await sandbox.control.get("/_sandbox/state")).json()
    assert (state["contacts"], state["conversations"], state["messages"], state["api_requests"]) == ([], [], [], [])
    assert [u["name"] for u in state["users"]] == ["Asistente"]
    assert (await sandbox.control.get("/_sandbox/faults")).json() == {"pending": []}
    assert (await sandbox.webhooks())["deliveries"] == []
    assert (await new_conversation(sandbox))["id"] == 1  # ids restart


async def test_clearing_webhook_records(sandbox: Sandbox) -> None:
    await new_conversation(sandbox)
    assert len((await sandbox.webhooks())["deliveries"]) == 1
    assert (await sandbox.control.delete("/_sandbox/webhooks")).status_code == 204
    hooks = (await sandbox.control.get("/_sandbox/webhooks")).json()
    assert hooks["deliveries"] == [] and hooks["settled"] is True
    assert hooks["signed"] is True and "message_created" in hooks["events"]
    bad_wait = await sandbox.control.get("/_sandbox/webhooks", params={"wait": "soon"})
    assert bad_wait.status_code == 400


async def test_agent_controls_reject_bad_input(sandbox: Sandbox) -> None:
    cid = (await new_conversation(sandbox))["id"]
    cases = [
        ("/_sandbox/agent_reply", {"content": "hola"}, 400),
        ("/_sandbox/agent_reply", {"conversation_id": cid}, 400),
        ("/_sandbox/agent_reply", {"conversation_id": cid, "content": "  "}, 400),
        ("/_sandbox/agent_reply", {"conversation_id": cid, "content": "x", "agent_name": 3}, 400),
        ("/_sandbox/agent_reply", {"conversation_id": 999, "content": "hola"}, 404),
        ("/_sandbox/resolve", {"conversation_id": 999}, 404),
        ("/_sandbox/resolve", {"conversation_id": True}, 400),
        ("/_sandbox/status", {"conversation_id": cid, "status": "bot"}, 400),
    ]
    for path, body, status in cases:
        response = await sandbox.control.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert "error" in response.json()
    state = (await sandbox.control.get("/_sandbox/state")).json()
    assert state["messages"] == [] and state["conversations"][0]["status"] == "pending"

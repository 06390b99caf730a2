"""Webhook delivery under trouble: retries with the same delivery id, a receiver that is down or slow,
answers that are not retried, order kept per conversation, unsigned like an older Chatwoot."""

from __future__ import annotations

import json

from rasa_project.devtools.local_stack import free_port
from rasa_project.sandboxes.chatwoot import sign
from tests.chatwoot_sandbox.conftest import (
    FAST_RETRIES,
    WEBHOOK_SECRET,
    Receiver,
    Starter,
    new_conversation,
    signature_ok,
)


async def test_5xx_answers_are_retried_with_the_same_delivery_id(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("conversation_created",))
    receiver.answers.extend([500, 503])
    await new_conversation(sandbox)
    hooks = await sandbox.webhooks()
    assert hooks["settled"] and hooks["pending"] == 0
    (delivery,) = hooks["deliveries"]
    assert delivery["state"] == "delivered" and delivery["event"] == "conversation_created"
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
    assert json.loads(delivery["attempts"][0]["response"]) == {"received": False}
    calls = await receiver.wait(3)
    assert {c.headers["X-Chatwoot-Delivery"] for c in calls} == {delivery["delivery_id"]}
    assert all(signature_ok(call) for call in calls)  # each attempt signed with its own timestamp
    assert len({c.raw for c in calls}) == 1


async def test_a_receiver_that_is_down(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_url=f"http://127.0.0.1:{free_port()}/webhooks/chatwoot",
                                  webhook_events=("conversation_created",))
    await new_conversation(sandbox)
    (delivery,) = (await sandbox.webhooks())["deliveries"]
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == len(FAST_RETRIES) + 1
    assert all(a["status"] is None and "ClientConnectorError" in a["error"] for a in delivery["attempts"])
    api = await sandbox.api.get("/conversations", params={"status": "all"})
    assert api.status_code == 200  # the API never waits for webhooks


async def test_other_4xx_answers_end_the_delivery(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("conversation_created", "message_created"))
    receiver.answers.extend([401, 429])
    cid = (await new_conversation(sandbox))["id"]
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": "Hola"})
    rejected, throttled = (await sandbox.webhooks())["deliveries"]
    assert rejected["state"] == "failed" and [a["status"] for a in rejected["attempts"]] == [401]
    assert throttled["state"] == "delivered" and [a["status"] for a in throttled["attempts"]] == [429, 200]


async def test_a_slow_receiver_times_out_and_is_retried(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("conversation_created",), webhook_timeout=0.2,
                                  retry_delays=(0.05,))
    receiver.delay = 0.5
    await new_conversation(sandbox)
    (delivery,) = (await sandbox.webhooks())["deliveries"]
    assert delivery["state"] == "failed"
    assert [a["error"].split(":")[0] for a in delivery["attempts"]] == ["TimeoutError", "TimeoutError"]


async def test_order_is_kept_per_conversation_through_retries(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("message_created",), retry_delays=(0.1, 0.1))
    cid = (await new_conversation(sandbox, status="open"))["id"]
    receiver.answers.extend([502, 502])  # the first message's first two attempts fail
    for text in ("uno", "dos", "tres"):
        await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": cid, "content": text})
    hooks = await sandbox.webhooks()
    assert [d["state"] for d in hooks["deliveries"]] == ["delivered"] * 3
    calls = await receiver.wait(5)
    assert [c.body["content"] for c in calls] == ["uno", "uno", "uno", "dos", "tres"]


async def test_conversations_do_not_wait_for_each_other(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("message_created",), retry_delays=(0.3,))
    first = (await new_conversation(sandbox, "+5215511111111", status="open"))["id"]
    second = (await new_conversation(sandbox, "+5215522222222", status="open"))["id"]
    receiver.answers.append(503)
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": first, "content": "a"})
    await receiver.wait(1)
    await sandbox.control.post("/_sandbox/agent_reply", json={"conversation_id": second, "content": "b"})
    await sandbox.webhooks()
    assert [c.body["content"] for c in receiver.calls] == ["a", "b", "a"]  # b did not wait out a's retry


async def test_unsigned_like_an_older_chatwoot(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_secret=None, webhook_events=("conversation_created",))
    await new_conversation(sandbox)
    assert (await sandbox.webhooks())["signed"] is False
    (call,) = await receiver.wait(1)
    assert not {"X-Chatwoot-Signature", "X-Chatwoot-Timestamp", "X-Chatwoot-Delivery"} & set(call.headers)
    assert call.query["token"]  # the URL token is the way to authenticate these


async def test_signature_covers_timestamp_and_raw_body(start_sandbox: Starter, receiver: Receiver) -> None:
    sandbox = await start_sandbox(webhook_events=("conversation_created",))
    await new_conversation(sandbox)
    await sandbox.webhooks()
    (call,) = receiver.calls
    timestamp, raw = call.headers["X-Chatwoot-Timestamp"], call.raw.decode()
    assert call.headers["X-Chatwoot-Signature"] == sign(WEBHOOK_SECRET, timestamp, raw)
    assert sign(WEBHOOK_SECRET, str(int(timestamp) + 1), raw) != call.headers["X-Chatwoot-Signature"]
    assert sign("other-secret", timestamp, raw) != call.headers["X-Chatwoot-Signature"]
    reserialized = json.dumps(call.body)
    assert sign(WEBHOOK_SECRET, timestamp, reserialized) != call.headers["X-Chatwoot-Signature"]

"""Inbound media on the Twilio sandbox: registration, Basic auth, 307 to expiring storage, request log."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any, Dict

import httpx
import pytest

from tests.twilio_sandbox.conftest import Sandbox

AUDIO = b"OggS" + b"\0" * 20 + "TRANSCRIPT:hola, ¿tienen clases hoy?".encode()


async def register(http: httpx.AsyncClient, sandbox: Sandbox, data: bytes = AUDIO, **options: Any) -> Dict[str, Any]:
    payload = {"content_type": "audio/ogg", "data": base64.b64encode(data).decode(), **options}
    response = await http.post(f"{sandbox.base_url}/_sandbox/media", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def auth(sandbox: Sandbox) -> tuple:
    return sandbox.account_sid, sandbox.auth_token


async def test_register_returns_a_twilio_media_url(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        listed = (await http.get(f"{sandbox.base_url}/_sandbox/media")).json()

    account = f"{re.escape(sandbox.base_url)}/2010-04-01/Accounts/{sandbox.account_sid}"
    pattern = account + r"/Messages/MM[0-9a-f]{32}/Media/ME[0-9a-f]{32}"
    assert re.fullmatch(pattern, media["url"])
    assert media["url"].endswith(f"/Messages/{media['message_sid']}/Media/{media['media_sid']}")
    assert (media["content_type"], media["size"]) == ("audio/ogg", len(AUDIO))
    assert listed == {"media": [media], "requests": []}


async def test_media_url_redirects_to_storage_that_needs_no_auth(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        redirect = await http.get(media["url"], auth=auth(sandbox))
        location = redirect.headers["location"]
        stored = await http.get(location)
        log = (await http.get(f"{sandbox.base_url}/_sandbox/media")).json()["requests"]

    assert redirect.status_code == 307
    assert location.startswith(f"{sandbox.base_url}/_sandbox/storage/")
    assert stored.status_code == 200 and stored.content == AUDIO
    assert stored.headers["content-type"].startswith("audio/ogg")
    assert stored.headers["content-length"] == str(len(AUDIO))
    assert [(r["kind"], r["status"]) for r in log] == [("media", 307), ("storage", 200)]
    assert log[0]["headers"]["authorization"].startswith("Basic ")
    assert "authorization" not in log[1]["headers"]


async def test_each_fetch_gets_a_fresh_storage_url(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        first = (await http.get(media["url"], auth=auth(sandbox))).headers["location"]
        second = (await http.get(media["url"], auth=auth(sandbox))).headers["location"]
    assert first != second


async def test_media_url_needs_twilio_basic_auth(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        anonymous = await http.get(media["url"])
        wrong = await http.get(media["url"], auth=(sandbox.account_sid, "not-the-token"))
        log = (await http.get(f"{sandbox.base_url}/_sandbox/media")).json()["requests"]

    for response in (anonymous, wrong):
        assert response.status_code == 401
        assert response.json()["code"] == 20003 and "location" not in response.headers
    assert [r["status"] for r in log] == [401, 401]


async def test_unknown_media_other_message_and_other_account_are_404(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        url = media["url"]
        unknown = await http.get(url.rsplit("/", 1)[0] + "/ME" + "0" * 32, auth=auth(sandbox))
        other_message = await http.get(url.replace(media["message_sid"], "MM" + "0" * 32), auth=auth(sandbox))
        other_account = await http.get(url.replace(sandbox.account_sid, "AC" + "f" * 32), auth=auth(sandbox))

    for response in (unknown, other_message, other_account):
        assert response.status_code == 404 and response.json()["code"] == 20404


async def test_storage_url_expires(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox, ttl_seconds=0.05)
        location = (await http.get(media["url"], auth=auth(sandbox))).headers["location"]
        await asyncio.sleep(0.1)
        expired = await http.get(location)
        forged = await http.get(f"{sandbox.base_url}/_sandbox/storage/not-a-token")
    assert expired.status_code == 403 and forged.status_code == 403


async def test_chunked_storage_has_no_length_and_the_same_bytes(sandbox: Sandbox) -> None:
    audio = AUDIO + bytes(200_000)
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox, data=audio, chunked=True, message_sid="MM" + "5" * 32)
        stored = await http.get(media["url"], auth=auth(sandbox), follow_redirects=True)
    assert media["message_sid"] == "MM" + "5" * 32
    assert stored.content == audio and "content-length" not in stored.headers


async def test_delayed_storage_is_slow(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox, delay_ms=300)
        location = (await http.get(media["url"], auth=auth(sandbox))).headers["location"]
        with pytest.raises(httpx.ReadTimeout):
            await http.get(location, timeout=0.1)


async def test_clear_forgets_media_and_requests(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        await http.get(media["url"], auth=auth(sandbox))
        assert (await http.delete(f"{sandbox.base_url}/_sandbox/media")).status_code == 204
        after = await http.get(media["url"], auth=auth(sandbox))
        listed = (await http.get(f"{sandbox.base_url}/_sandbox/media")).json()
    assert after.status_code == 404
    assert listed["media"] == [] and [r["status"] for r in listed["requests"]] == [404]


@pytest.mark.parametrize("body", [
    b"{nope",
    b"[]",
    b'{"data": "aGVsbG8="}',
    b'{"content_type": "audio/ogg"}',
    b'{"content_type": "ogg", "data": "aGVsbG8="}',
    b'{"content_type": "audio/ogg", "data": "not base64!"}',
    b'{"content_type": "audio/ogg", "data": "aGVsbG8=", "ttl_seconds": -1}',
    b'{"content_type": "audio/ogg", "data": "aGVsbG8=", "delay_ms": true}',
    b'{"content_type": "audio/ogg", "data": "aGVsbG8=", "message_sid": "MM/../x"}',
])
async def test_bad_registrations_are_400(sandbox: Sandbox, body: bytes) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sandbox.base_url}/_sandbox/media", content=body,
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


async def test_media_leaves_the_messages_api_alone(sandbox: Sandbox, twilio_client) -> None:
    async with httpx.AsyncClient() as http:
        media = await register(http, sandbox)
        await http.get(media["url"], auth=auth(sandbox), follow_redirects=True)
        message = await twilio_client.messages.create_async(to="whatsapp:+5215512345678",
                                                            from_="whatsapp:+14155238886", body="hola")
        stats = (await http.get(f"{sandbox.base_url}/_sandbox/stats")).json()
    assert message.status == "queued"
    assert stats["create_attempts"] == 1 and stats["accepted"] == 1 and stats["rejected_total"] == 0

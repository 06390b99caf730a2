"""The OpenAI-compatible stand-in itself: protocol, auth, default rewording, controls and its CLI."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import AsyncIterator

import httpx
import openai
import pytest

from rasa_project.sandboxes.llm_server.rephrase import FALLBACK_REPLY
from tests.phrasing.support import API_KEY, BOOKING_TEMPLATE, LlmSandbox

CHAT = {"model": "any/model", "messages": [{"role": "user", "content": "hola"}]}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}])
async def test_missing_key_is_an_openai_shaped_401(llm_sandbox: LlmSandbox, headers: dict) -> None:
    response = await llm_sandbox.http.post(f"{llm_sandbox.base_url}/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401 and response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/chat/completions", "/v1/chat/completions"])
async def test_completion_shape_and_usage(llm_sandbox: LlmSandbox, path: str) -> None:
    response = await llm_sandbox.http.post(
        f"{llm_sandbox.base_url}{path}", json=CHAT, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "any/model"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": FALLBACK_REPLY}
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_bad_body_and_streaming_are_rejected(llm_sandbox: LlmSandbox) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    url = f"{llm_sandbox.base_url}/v1/chat/completions"
    assert (await llm_sandbox.http.post(url, content=b"{not json", headers=headers)).status_code == 400
    assert (await llm_sandbox.http.post(url, json={"messages": []}, headers=headers)).status_code == 400
    assert (await llm_sandbox.http.post(url, json={**CHAT, "stream": True}, headers=headers)).status_code == 400


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("script", {"outputs": "not a list"}),
        ("faults", {"outcomes": [{"status": 200}]}),
        ("faults", {"outcomes": [{"delay_ms": -1}]}),
        ("faults", {"outcomes": [{}]}),
        ("latency", {"latency_ms": "fast"}),
    ],
)
async def test_controls_reject_bad_input_clearly(llm_sandbox: LlmSandbox, path: str, payload: dict) -> None:
    response = await llm_sandbox.http.post(f"{llm_sandbox.base_url}/_sandbox/{path}", json=payload)
    assert response.status_code == 400 and response.json()["error"]


async def test_script_faults_and_reset_with_the_real_client(llm_sandbox: LlmSandbox) -> None:
    client = openai.AsyncOpenAI(base_url=f"{llm_sandbox.base_url}/v1", api_key=API_KEY, max_retries=0)
    try:
        await llm_sandbox.script("uno", {"content": "dos", "finish_reason": "length"})
        await llm_sandbox.faults({"status": 429})
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(**CHAT)
        first = await client.chat.completions.create(**CHAT)
        second = await client.chat.completions.create(**CHAT)
        assert (first.choices[0].message.content, second.choices[0].finish_reason) == ("uno", "length")
        assert len(await llm_sandbox.requests()) == 3
        await llm_sandbox.script("tres")
        await llm_sandbox.http.post(f"{llm_sandbox.base_url}/_sandbox/reset")
        assert await llm_sandbox.requests() == []
        third = await client.chat.completions.create(**CHAT)
        assert third.choices[0].message.content == FALLBACK_REPLY
    finally:
        await client.close()


async def test_default_reply_rewords_the_template_with_the_name(llm_sandbox: LlmSandbox) -> None:
    prompt = f"<nombre_cliente>Ana</nombre_cliente>\n<plantilla>\n{BOOKING_TEMPLATE}\n</plantilla>"
    response = await llm_sandbox.http.post(
        f"{llm_sandbox.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={
            "model": "m",
            "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": prompt}],
        },
    )
    content = response.json()["choices"][0]["message"]["content"]
    opener, rest = content.split("\n\n", 1)
    assert "Ana" in opener and rest == BOOKING_TEMPLATE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def cli_server() -> AsyncIterator[str]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rasa_project.sandboxes.llm_server",
        "--port",
        str(port),
        "--latency-ms",
        "200",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    await http.get(f"{base_url}/_sandbox/requests")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        await process.wait()


async def test_cli_serves_with_latency(cli_server: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{cli_server}/v1", api_key=API_KEY, max_retries=0)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        completion = await client.chat.completions.create(**CHAT)
        assert loop.time() - started >= 0.2
        assert completion.choices[0].message.content == FALLBACK_REPLY
    finally:
        await client.close()

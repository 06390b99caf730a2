"""An OpenAI-compatible chat-completions server on loopback, standing in for OpenRouter.

`POST /chat/completions` (and `/v1/chat/completions`), non-streaming, with a Bearer key (any non-empty
one) and OpenAI-shaped responses and errors, so the real `openai.AsyncOpenAI` client runs unchanged.
Test controls live under `/_sandbox/` (see controls.py).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any, AsyncIterator, Dict

from aiohttp import web

from rasa_project.sandboxes.llm_server.controls import add_control_routes
from rasa_project.sandboxes.llm_server.rephrase import default_reply
from rasa_project.sandboxes.llm_server.state import SandboxState

STATE_KEY = web.AppKey("llm_sandbox_state", SandboxState)
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def error_response(status: int, message: str) -> web.Response:
    """OpenAI's error shape (also what OpenRouter sends: `code` is the HTTP status)."""
    body = {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": status,
        }
    }
    headers = {"Retry-After": "1"} if status == 429 else None
    return web.json_response(body, status=status, headers=headers)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))  # about four characters per token


def _completion(state: SandboxState, body: Dict[str, Any], content: str, finish_reason: str) -> Dict[str, Any]:
    state.completions += 1
    prompt = " ".join(str(m.get("content", "")) for m in body["messages"] if isinstance(m, dict))
    prompt_tokens, completion_tokens = _tokens(prompt), _tokens(content)
    return {
        "id": f"gen-sandbox-{state.completions}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or "sandbox/echo",
        "provider": "sandbox",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


async def chat_completions(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    raw = await request.text()
    try:
        body: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = None
    state.requests.append(
        {
            "path": request.path,
            "received_at": time.time(),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
        }
    )
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
        return error_response(401, "No auth credentials found")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        return error_response(400, "expected a JSON object with a non-empty `messages` list")
    if body.get("stream"):
        return error_response(400, "the sandbox does not stream; send `stream: false`")
    fault = state.faults.popleft() if state.faults else None
    await state.sleep((state.latency_ms + (fault.delay_ms if fault else 0.0)) / 1000.0)
    if fault is not None and fault.status is not None:
        return error_response(fault.status, f"sandbox fault: HTTP {fault.status}")
    output = state.outputs.popleft() if state.outputs else default_reply(body["messages"])
    if isinstance(output, dict):
        content, finish_reason = str(output.get("content", "")), str(output.get("finish_reason", "stop"))
    else:
        content, finish_reason = output, "stop"
    return web.json_response(_completion(state, body, content, finish_reason))


def create_app(*, latency_ms: float = 0) -> web.Application:
    """The stand-in; `latency_ms` is added to every completion (like a real model's think time)."""
    app = web.Application()
    state = SandboxState(default_latency_ms=float(latency_ms), latency_ms=float(latency_ms))
    app[STATE_KEY] = state

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        state.stopping = asyncio.Event()
        yield

    async def on_shutdown(_: web.Application) -> None:
        if state.stopping is not None:
            state.stopping.set()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(on_shutdown)  # type: ignore[arg-type]
    app.router.add_post("/chat/completions", chat_completions)
    app.router.add_post("/v1/chat/completions", chat_completions)
    add_control_routes(app, state)
    return app

"""Test controls under `/_sandbox/` (no auth): script outputs and faults, set latency, read requests.

They are not part of the OpenAI API; they let tests make the "model" comply with a prompt injection,
fail with a status, stall past the client's budget, and check what the client actually sent.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web

from rasa_project.sandboxes.llm_server.state import Fault, SandboxState


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": reason}), content_type="application/json")


async def _json_object(request: web.Request) -> Dict[str, Any]:
    try:
        payload = await request.json()
    except json.JSONDecodeError as exc:
        raise _bad_request(f"invalid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise _bad_request("expected a JSON object")
    return payload


def add_control_routes(app: web.Application, state: SandboxState) -> None:
    async def script(request: web.Request) -> web.Response:
        outputs = (await _json_object(request)).get("outputs")
        if not isinstance(outputs, list) or not all(isinstance(o, (str, dict)) for o in outputs):
            raise _bad_request('expected {"outputs": ["text", {"content": "...", "finish_reason": "length"}]}')
        state.outputs.extend(outputs)
        return web.json_response({"queued_outputs": len(state.outputs)})

    async def faults(request: web.Request) -> web.Response:
        outcomes = (await _json_object(request)).get("outcomes")
        if not isinstance(outcomes, list):
            raise _bad_request('expected {"outcomes": [{"status": 500}, {"delay_ms": 6000}]}')
        try:
            parsed = [Fault.parse(raw) for raw in outcomes]
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        state.faults.extend(parsed)
        return web.json_response({"queued_faults": len(state.faults)})

    async def latency(request: web.Request) -> web.Response:
        value = (await _json_object(request)).get("latency_ms")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _bad_request('expected {"latency_ms": <non-negative number>}')
        state.latency_ms = float(value)
        return web.json_response({"latency_ms": state.latency_ms})

    async def requests(_: web.Request) -> web.Response:
        return web.json_response({"requests": state.requests})

    async def reset(_: web.Request) -> web.Response:
        state.reset()
        return web.json_response({"reset": True, "latency_ms": state.latency_ms})

    app.router.add_post("/_sandbox/script", script)
    app.router.add_post("/_sandbox/faults", faults)
    app.router.add_post("/_sandbox/latency", latency)
    app.router.add_get("/_sandbox/requests", requests)
    app.router.add_post("/_sandbox/reset", reset)

"""The Content API on the sandbox through twilio-python 8.2.2's `content` domain: create, fetch, list,
delete, Twilio's WhatsApp limits, and the WhatsApp approval requests with their test control."""

from __future__ import annotations

import copy
import re
from typing import Any, Dict

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.twilio_sandbox.conftest import Sandbox, content_call, create_content, make_client, request_approval

CONFIRM: Dict[str, Any] = {
    "friendly_name": "confirmar_cita",
    "language": "es",
    "variables": {"1": "Ana", "2": "martes 10:00"},
    "types": {
        "twilio/quick-reply": {
            "body": "Hola {{1}}, ¿confirmas tu cita del {{2}}?",
            "actions": [{"title": "Sí, confirmar", "id": "confirmar"}, {"title": "Cambiar hora", "id": "reprogramar"},
                        {"title": "Cancelar", "id": "cancelar"}],
        },
        "twilio/text": {"body": "Hola {{1}}, ¿confirmas tu cita del {{2}}? Responde SÍ o NO."},
    },
}
SERVICES: Dict[str, Any] = {
    "friendly_name": "elegir_servicio",
    "language": "es",
    "types": {"twilio/list-picker": {
        "body": "¿Qué servicio quieres reservar, {{1}}?", "button": "Ver servicios",
        "items": [{"item": "Corte de pelo", "id": "corte", "description": "30 min · $250"},
                  {"item": "Tinte", "id": "tinte", "description": "90 min · $900"}],
    }},
}


async def test_create_and_fetch_like_twilio(strict_client, strict_sandbox: Sandbox) -> None:
    created = await create_content(strict_client, CONFIRM)

    assert re.fullmatch(r"HX[0-9a-f]{32}", created.sid)
    assert created.account_sid == strict_sandbox.account_sid
    assert (created.friendly_name, created.language) == ("confirmar_cita", "es")
    assert created.variables == CONFIRM["variables"] and created.types == CONFIRM["types"]
    assert created.date_created is not None and created.date_created.tzinfo is not None  # ISO 8601, parsed
    content_url = f"{strict_sandbox.base_url}/v1/Content/{created.sid}"
    assert created.url == content_url
    assert created.links == {"approval_create": f"{content_url}/ApprovalRequests/whatsapp",
                             "approval_fetch": f"{content_url}/ApprovalRequests"}

    fetched = await strict_client.content.v1.contents(created.sid).fetch_async()
    assert (fetched.sid, fetched.types, fetched.date_created) == (created.sid, created.types, created.date_created)


async def test_list_pages_and_delete(strict_client) -> None:
    sids = [(await create_content(strict_client, {**CONFIRM, "friendly_name": f"plantilla_{n}"})).sid
            for n in range(5)]

    listed = await strict_client.content.v1.contents.list_async(page_size=2)  # three pages, followed
    page = await strict_client.content.v1.contents.page_async(page_size=2)

    assert [c.sid for c in listed] == sids
    assert page.next_page_url is not None and "Page=1" in page.next_page_url
    assert await strict_client.content.v1.contents(sids[0]).delete_async() is True
    assert [c.sid for c in await strict_client.content.v1.contents.list_async()] == sids[1:]
    for gone in (strict_client.content.v1.contents(sids[0]).fetch_async(),
                 strict_client.content.v1.contents(sids[0]).delete_async()):
        with pytest.raises(TwilioRestException) as error:
            await gone
        assert (error.value.status, error.value.code) == (404, 20404)


def _breaking(base: Dict[str, Any], path: str, value: Any) -> Dict[str, Any]:
    body = copy.deepcopy(base)
    spec = body["types"][next(iter(body["types"]))]
    *parents, last = path.split(".")
    target = spec
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize("body, field", [
    (_breaking(CONFIRM, "actions", [{"title": f"opción {n}", "id": str(n)} for n in range(11)]), "actions"),
    (_breaking(CONFIRM, "actions", []), "actions"),
    (_breaking(CONFIRM, "actions.0.title", "x" * 21), "actions[0].title"),
    (_breaking(CONFIRM, "actions.1.id", "x" * 201), "actions[1].id"),
    (_breaking(CONFIRM, "body", "x" * 1025), "twilio/quick-reply.body"),
    (_breaking(SERVICES, "items", [{"item": f"s{n}", "id": str(n), "description": "d"} for n in range(11)]), "items"),
    (_breaking(SERVICES, "items.0.item", "x" * 25), "items[0].item"),
    (_breaking(SERVICES, "items.1.description", "x" * 73), "items[1].description"),
    (_breaking(SERVICES, "items.0.id", "x" * 201), "items[0].id"),
    (_breaking(SERVICES, "button", "x" * 21), "button"),
    (_breaking(SERVICES, "body", ""), "twilio/list-picker.body"),
    ({**CONFIRM, "types": {"twilio/carousel": {"body": "x"}}}, "twilio/carousel"),
    ({k: v for k, v in CONFIRM.items() if k != "language"}, "language"),
    ({**CONFIRM, "variables": {"1": 3}}, "variables"),
])
async def test_whatsapp_limits_are_refused_with_twilio_errors(strict_client, body, field) -> None:
    with pytest.raises(TwilioRestException) as error:
        await create_content(strict_client, body)
    assert (error.value.status, error.value.code) == (400, 20422)
    assert field in error.value.msg
    assert await strict_client.content.v1.contents.list_async() == []


async def test_limits_themselves_are_accepted(strict_client) -> None:
    ten = _breaking(CONFIRM, "actions", [{"title": "x" * 20, "id": "i" * 200} for _ in range(10)])
    longest = _breaking(SERVICES, "items", [{"item": "x" * 24, "id": "i" * 200, "description": "d" * 72}] * 10)
    for body in (ten, longest, {"language": "es", "types": {"twilio/text": {"body": "á" * 1600}}}):
        assert (await create_content(strict_client, body)).sid.startswith("HX")


async def test_missing_types_gets_twilios_sentence(strict_client, strict_sandbox: Sandbox) -> None:
    with pytest.raises(TwilioRestException) as error:
        await create_content(strict_client, {"friendly_name": "x", "language": "es", "types": {}})
    assert error.value.code == 20422
    assert error.value.msg.endswith("Invalid types. At least one content type definition is required")
    async with httpx.AsyncClient() as http:
        raw = await http.post(f"{strict_sandbox.base_url}/v1/Content", content=b"{nope",
                              auth=(strict_sandbox.account_sid, strict_sandbox.auth_token))
    assert raw.status_code == 400 and raw.json()["code"] == 20422


async def test_content_api_needs_basic_auth(strict_sandbox: Sandbox) -> None:
    client = make_client(strict_sandbox, token="not-the-token")
    try:
        for call in (create_content(client, CONFIRM), client.content.v1.contents("HX" + "0" * 32).fetch_async()):
            with pytest.raises(TwilioRestException) as error:
                await call
            assert (error.value.status, error.value.code) == (401, 20003)
        with pytest.raises(TwilioException) as listing:  # 8.2.2's pages raise the bare exception
            await client.content.v1.contents.list_async()
        assert listing.value.args[1].status_code == 401
    finally:
        await client.http_client.close()


async def test_approval_request_is_received_then_approved(strict_client, strict_sandbox: Sandbox) -> None:
    content = await create_content(strict_client, CONFIRM)
    fetch = strict_client.content.v1.contents(content.sid).approval_fetch()
    before = await fetch.fetch_async()

    answer = await request_approval(strict_client, content.sid, "confirmar_cita", "UTILITY")
    after = await fetch.fetch_async()

    assert before.whatsapp["status"] == "unsubmitted"
    assert answer == {"name": "confirmar_cita", "category": "UTILITY", "content_type": "twilio/quick-reply",
                      "status": "received", "rejection_reason": "", "allow_category_change": False}
    assert (after.sid, after.account_sid) == (content.sid, strict_sandbox.account_sid)
    assert after.whatsapp == {**answer, "type": "whatsapp", "status": "approved"}
    assert after.url == f"{strict_sandbox.base_url}/v1/Content/{content.sid}/ApprovalRequests"
    listed = await strict_client.content.v1.content_and_approvals.list_async()
    assert [(c.sid, c.approval_requests["status"]) for c in listed] == [(content.sid, "approved")]


async def test_control_sets_the_status_before_or_after_the_request(strict_client, strict_sandbox: Sandbox) -> None:
    first = await create_content(strict_client, CONFIRM)
    second = await create_content(strict_client, {**CONFIRM, "friendly_name": "otra"})
    control = f"{strict_sandbox.base_url}/_sandbox/content/{{}}/approval"
    async with httpx.AsyncClient() as http:
        planned = await http.post(control.format(first.sid), json={"status": "rejected",
                                                                   "rejection_reason": "INVALID_FORMAT"})
        await request_approval(strict_client, first.sid, "confirmar_cita")
        await request_approval(strict_client, second.sid, "otra_cita", "MARKETING")
        moved = await http.post(control.format(second.sid), json={"status": "pending"})
        bad = await http.post(control.format(second.sid), json={"status": "maybe"})
        unknown = await http.post(control.format("HX" + "0" * 32), json={"status": "approved"})
        listed = (await http.get(f"{strict_sandbox.base_url}/_sandbox/content")).json()["contents"]

    assert planned.status_code == 200 and planned.json()["planned"] == "rejected"
    rejected = (await strict_client.content.v1.contents(first.sid).approval_fetch().fetch_async()).whatsapp
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "INVALID_FORMAT")
    assert moved.json()["whatsapp"]["status"] == "pending"
    assert (bad.status_code, unknown.status_code) == (400, 404)
    assert [(c["sid"], c["approval_requests"]["status"]) for c in listed] == [(first.sid, "rejected"),
                                                                               (second.sid, "pending")]


@pytest.mark.parametrize("body", [
    {"name": "Con Mayúsculas", "category": "UTILITY"},
    {"name": "confirmar_cita", "category": "PROMO"},
    {"category": "UTILITY"},
])
async def test_bad_approval_requests_are_refused(strict_client, body) -> None:
    content = await create_content(strict_client, CONFIRM)
    with pytest.raises(TwilioRestException) as error:
        await content_call(strict_client, f"/Content/{content.sid}/ApprovalRequests/whatsapp", body)
    assert (error.value.status, error.value.code) == (400, 20422)


async def test_list_picker_can_not_become_a_template(strict_client, strict_sandbox: Sandbox) -> None:
    picker = await create_content(strict_client, SERVICES)
    with pytest.raises(TwilioRestException) as error:
        await request_approval(strict_client, picker.sid, "elegir_servicio")
    assert "list-picker" in error.value.msg
    async with httpx.AsyncClient() as http:
        forced = await http.post(f"{strict_sandbox.base_url}/_sandbox/content/{picker.sid}/approval",
                                 json={"status": "approved"})
    assert forced.status_code == 400
    with pytest.raises(TwilioRestException) as missing:
        await request_approval(strict_client, "HX" + "0" * 32, "nada")
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_clear_control_forgets_every_content(strict_client, strict_sandbox: Sandbox) -> None:
    await create_content(strict_client, CONFIRM)
    async with httpx.AsyncClient() as http:
        assert (await http.delete(f"{strict_sandbox.base_url}/_sandbox/content")).status_code == 204
    assert await strict_client.content.v1.contents.list_async() == []

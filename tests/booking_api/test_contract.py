"""Every sandbox answer (success and error) matches `openapi.yaml`, and every documented
operation and status is exercised."""

from __future__ import annotations

from datetime import date, timedelta
from typing import AsyncIterator, Dict

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.booking_api.contract import ContractChecker, load_spec
from tests.support.booking_sandbox import ANA, LUCIA, MARTIN, TOKEN, Sandbox

UNKNOWN = "+5215500001111"


def test_spec_is_well_formed() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The shared BOOKING_API_TOKEN.",
    }
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    checker = ContractChecker()
    assert {(m, t) for m, t, _ in checker.operations} == {
        ("GET", "/services"),
        ("GET", "/packages"),
        ("GET", "/schedule-slots"),
        ("GET", "/client/me"),
        ("PATCH", "/client/me"),
        ("POST", "/clients"),
        ("GET", "/client/bookings"),
        ("POST", "/booking"),
        ("PATCH", "/client/bookings/{id}"),
        ("DELETE", "/client/bookings/{id}"),
        ("POST", "/client/purchase"),
        ("GET", "/client/purchase-history"),
        ("GET", "/admin/bookings"),
    }


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        yield client


def as_client(phone: str) -> Dict[str, str]:
    return {"X-Client-Phone": phone}


async def test_every_operation_and_status_matches_the_contract(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    c = ContractChecker()
    day = sandbox.full_slot_day
    later = date.today() + timedelta(days=7)

    async def expect(status: int, method: str, path: str, **kwargs: object) -> httpx.Response:
        response = c.check(await http.request(method, path, **kwargs))
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response

    # catalogue
    await expect(200, "GET", "/services")
    await expect(200, "GET", "/packages")
    params = {"date_from": day.isoformat(), "date_to": (day + timedelta(days=3)).isoformat()}
    await expect(200, "GET", "/schedule-slots", params=params)
    await expect(
        200, "GET", "/schedule-slots", params={**params, "service": "masaje", "available_only": "false"}
    )
    await expect(422, "GET", "/schedule-slots", params={"date_from": "mañana", "date_to": "2026-13-01"})
    await expect(422, "GET", "/schedule-slots", params={**params, "available_only": "quizá"})
    await expect(422, "GET", "/schedule-slots", params={"date_from": "2026-01-01", "date_to": "2026-12-31"})

    # client profile and registration
    await expect(200, "GET", "/client/me", headers=as_client(ANA))
    await expect(200, "GET", "/client/me", headers=as_client(f"whatsapp:{LUCIA}"))
    await expect(404, "GET", "/client/me", headers=as_client(UNKNOWN))
    await expect(422, "GET", "/client/me", headers=as_client("5512345678"))
    await expect(200, "PATCH", "/client/me", headers=as_client(LUCIA), json={"email": None})
    await expect(
        200, "PATCH", "/client/me", headers=as_client(LUCIA), json={"name": "Lucía", "email": "l@x.mx"}
    )
    await expect(404, "PATCH", "/client/me", headers=as_client(UNKNOWN), json={"name": "X"})
    await expect(422, "PATCH", "/client/me", headers=as_client(LUCIA), json={})
    await expect(422, "PATCH", "/client/me", headers=as_client(LUCIA), json={"email": "x", "age": 3})
    await expect(422, "PATCH", "/client/me", headers=as_client(LUCIA), content=b"{not json")
    await expect(
        201, "POST", "/clients", json={"phone": UNKNOWN, "name": "Nuevo", "email": "nuevo@example.com"}
    )
    await expect(409, "POST", "/clients", json={"phone": ANA, "name": "Ana", "email": "ana@example.com"})
    await expect(422, "POST", "/clients", json={"phone": "+1", "name": "N"})

    # bookings
    await expect(200, "GET", "/client/bookings", headers=as_client(ANA))
    await expect(200, "GET", "/client/bookings", headers=as_client(ANA), params={"scope": "all"})
    await expect(404, "GET", "/client/bookings", headers=as_client("+5215500002222"))
    await expect(422, "GET", "/client/bookings", headers=as_client(ANA), params={"scope": "ayer"})
    free = (
        await expect(
            200,
            "GET",
            "/schedule-slots",
            params={
                "date_from": later.isoformat(),
                "date_to": (later + timedelta(days=2)).isoformat(),
                "service": "yoga",
            },
        )
    ).json()
    booked = (
        await expect(201, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": free[0]["id"]})
    ).json()
    await expect(409, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": free[0]["id"]})
    await expect(409, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": sandbox.full_slot_id})
    await expect(404, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": 99999})
    await expect(
        404, "POST", "/booking", headers=as_client("+5215500002222"), json={"slot_id": free[1]["id"]}
    )
    await expect(422, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": "uno"})
    await expect(422, "POST", "/booking", headers=as_client(LUCIA), json=[1])
    await expect(
        200,
        "PATCH",
        f"/client/bookings/{booked['id']}",
        headers=as_client(LUCIA),
        json={"status": "cancelled"},
    )
    await expect(
        409,
        "PATCH",
        f"/client/bookings/{booked['id']}",
        headers=as_client(LUCIA),
        json={"status": "cancelled"},
    )
    await expect(
        404, "PATCH", "/client/bookings/RSV-99999", headers=as_client(LUCIA), json={"status": "cancelled"}
    )
    await expect(
        422,
        "PATCH",
        f"/client/bookings/{booked['id']}",
        headers=as_client(LUCIA),
        json={"status": "confirmed"},
    )
    martin_booking = sandbox.bookings_of(MARTIN)[0]
    await expect(404, "DELETE", f"/client/bookings/{martin_booking}", headers=as_client(ANA))
    await expect(200, "DELETE", f"/client/bookings/{martin_booking}", headers=as_client(MARTIN))
    await expect(409, "DELETE", f"/client/bookings/{martin_booking}", headers=as_client(MARTIN))
    await expect(422, "DELETE", f"/client/bookings/{martin_booking}", headers={})

    # purchases
    created = (
        await expect(201, "POST", "/client/purchase", headers=as_client(ANA), json={"package_id": 4})
    ).json()
    assert created["payment_url"].endswith(f"/pay/{created['id']}")
    await expect(404, "POST", "/client/purchase", headers=as_client(ANA), json={"package_id": 77})
    await expect(404, "POST", "/client/purchase", headers=as_client(UNKNOWN + "9"), json={"package_id": 1})
    await expect(422, "POST", "/client/purchase", headers=as_client(ANA), json={"package_id": 0})
    history = (await expect(200, "GET", "/client/purchase-history", headers=as_client(ANA))).json()
    assert [p["id"] for p in history][0] == created["id"]
    await expect(404, "GET", "/client/purchase-history", headers=as_client("+5215500002222"))
    await expect(422, "GET", "/client/purchase-history")

    # admin
    await expect(200, "GET", "/admin/bookings", params={"date": day.isoformat(), "service": "pilates"})
    await expect(200, "GET", "/admin/bookings")
    await expect(422, "GET", "/admin/bookings", params={"date": "hoy"})

    # the sandbox refuses a started booking's cancellation too (422)
    sandbox.clock.offset = timedelta(days=30)
    await expect(422, "DELETE", f"/client/bookings/{sandbox.bookings_of(ANA)[0]}", headers=as_client(ANA))
    await expect(422, "POST", "/booking", headers=as_client(LUCIA), json={"slot_id": free[1]["id"]})
    sandbox.clock.offset = timedelta(0)

    # 401 and 5XX on every operation
    ids = {"id": sandbox.bookings_of(ANA)[1]}
    bodies = {
        "PATCH /client/me": {"name": "Ana"},
        "POST /clients": {"phone": "+5215500003333", "name": "N", "email": "n@example.com"},
        "POST /booking": {"slot_id": free[1]["id"]},
        "PATCH /client/bookings/{id}": {"status": "cancelled"},
        "POST /client/purchase": {"package_id": 1},
    }
    for method, template, _ in c.operations:
        path = template.format(**ids)
        kwargs = {
            "headers": as_client(ANA),
            "params": params if template == "/schedule-slots" else None,
            "json": bodies.get(f"{method} {template}"),
        }
        unauthorized = await http.request(
            method, path, **{**kwargs, "headers": {**as_client(ANA), "Authorization": "Bearer nope"}}
        )
        assert c.check(unauthorized).status_code == 401
        await sandbox.fault(status=500, count=1, path_prefix=path)
        assert c.check(await http.request(method, path, **kwargs)).status_code == 500

    missing = sorted(c.documented() - c.exercised)
    assert not missing, f"documented but never exercised: {missing}"


async def test_unknown_route_answers_the_error_shape(http: httpx.AsyncClient) -> None:
    response = await http.get("/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = await http.put("/services")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_checker_rejects_off_contract_bodies() -> None:
    c = ContractChecker()
    request = httpx.Request("GET", "http://sandbox/schedule-slots")
    slot = {
        "id": 1,
        "service_code": "yoga",
        "service_name": "Yoga",
        "starts_at": "2026-01-01T08:00:00",
        "ends_at": "2026-01-01T09:00:00-06:00",
        "capacity": 8,
        "booked": 0,
        "instructor": "D",
    }
    with pytest.raises(AssertionError, match="available|starts_at"):
        c.check(httpx.Response(200, json=[slot], request=request))
    error = httpx.Response(500, json={"error": {"code": "x"}}, request=request)
    with pytest.raises(AssertionError, match="message"):
        c.check(error)

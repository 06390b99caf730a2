"""Shared test data and helpers for the phrasing tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Dict, List

import httpx
from prometheus_client import REGISTRY

from rasa_project.phrasing import PhrasingRequest, Turn
from rasa_project.settings import Settings

API_KEY = "sk-or-v1-sandbox-test"

BOOKING_FACTS: Dict[str, Any] = {
    "booking_id": "RSV-1001",
    "class_name": "Yoga restaurativo",
    "starts_at": "2025-11-27T18:00:00-06:00",
    "starts_at_text": "jueves 27 de noviembre, 18:00",
    "price": "800.00",
    "currency": "MXN",
    "payment_id": "PAY-2001",
    "payment_link": "https://pagos.estudio-equilibrio.mx/p/PAY-2001",
}
BOOKING_TEMPLATE = (
    "Listo, reservé tu clase de Yoga restaurativo para el jueves 27 de noviembre, 18:00 (folio RSV-1001).\n"
    "Total: $800.00 MXN. Puedes pagar aquí: https://pagos.estudio-equilibrio.mx/p/PAY-2001"
)


def booking_request(**overrides: Any) -> PhrasingRequest:
    values: Dict[str, Any] = dict(
        intent="reservar_clase",
        facts=BOOKING_FACTS,
        template_text=BOOKING_TEMPLATE,
        first_name="Ana",
        user_message="quiero la de yoga del jueves",
    )
    values.update(overrides)
    return PhrasingRequest(**values)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@dataclass
class LlmSandbox:
    """The running stand-in and its `/_sandbox/` controls, driven over real HTTP."""

    base_url: str
    http: httpx.AsyncClient

    async def _post(self, path: str, payload: Dict[str, Any]) -> None:
        response = await self.http.post(f"{self.base_url}/_sandbox/{path}", json=payload)
        response.raise_for_status()

    async def script(self, *outputs: Any) -> None:
        await self._post("script", {"outputs": list(outputs)})

    async def faults(self, *outcomes: Dict[str, Any]) -> None:
        await self._post("faults", {"outcomes": list(outcomes)})

    async def latency(self, latency_ms: float) -> None:
        await self._post("latency", {"latency_ms": latency_ms})

    async def requests(self) -> List[Dict[str, Any]]:
        response = await self.http.get(f"{self.base_url}/_sandbox/requests")
        response.raise_for_status()
        return response.json()["requests"]

    def settings(self, **overrides: Any) -> Settings:
        values: Dict[str, Any] = dict(
            openrouter_base_url=f"{self.base_url}/v1", openrouter_api_key=API_KEY, llm_timeout_seconds=3.0
        )
        values.update(overrides)
        return dataclasses.replace(Settings(), **values)


def turns(*texts: str) -> List[Turn]:
    """Alternating user/bot turns, oldest first."""
    return [Turn(role="user" if i % 2 == 0 else "bot", text=text) for i, text in enumerate(texts)]

"""consultar_paquetes, pagar_servicio and consultar_historial: the catalogue, buying a package
(POST /client/purchase returns a payment link; the bot never collects card data) and past purchases.
When the payment link fails a second time in a session, a person of the team takes over
(`actions/handoff.py`, reason 'pago_fallido')."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction
from actions.conversation import clear_form_slots
from actions.formatting import bulleted, day_text, money_text
from actions.handoff import REASON_SLOT
from actions.identity import client_phone
from actions.matching import comparable, pick_by_name, pick_by_position
from actions.registration import RegisteringFormValidation, register_if_needed
from rasa_project.booking_api.models import Package, Purchase

PURCHASE_STATUS = {"pending": "pendiente de pago", "paid": "pagado", "expired": "vencido"}


def package_line(package: Package) -> str:
    sessions = "clases ilimitadas" if package.sessions is None else (
        "1 clase" if package.sessions == 1 else f"{package.sessions} clases"
    )
    price = money_text(package.price, package.currency)
    return f"{package.name}: {price} ({sessions}, vigencia {package.validity_days} días)"


def purchase_line(purchase: Purchase) -> str:
    status = PURCHASE_STATUS.get(purchase.status, purchase.status)
    return (
        f"{purchase.package_name}, {money_text(purchase.amount, purchase.currency)}, "
        f"{day_text(purchase.created_at.date())}: {status} ({purchase.id})"
    )


def package_button(package: Package) -> Dict[str, str]:
    return {
        "title": f"{package.name} ({money_text(package.price, package.currency)})",
        "payload": f'/informar{{"paquete": "{package.code}"}}',
    }


def find_package(text: str, packages: List[Package]) -> Package | None:
    """By code or name, else by its number of sessions ("el de 10"), else by list position ("2")."""
    by_name = pick_by_name(text, packages, lambda p: p.code, lambda p: p.name)
    if by_name:
        return by_name
    words = comparable(text).split()
    if any(w.startswith(("mensual", "ilimitad", "mes")) for w in words):
        unlimited = [p for p in packages if p.sessions is None]
        if len(unlimited) == 1:
            return unlimited[0]
    numbers = {int(w) for w in words if w.isdigit()}
    by_sessions = [p for p in packages if p.sessions in numbers]
    if len(by_sessions) == 1:
        return by_sessions[0]
    return pick_by_position(text, packages)


class ActionConsultarPaquetes(AssistantAction):
    """Lists the packages with prices (GET /packages)."""

    def name(self) -> str:
        return "action_consultar_paquetes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("list_packages") as call:
            packages = await self.services.booking_api.list_packages()
        if call.failed:
            return call.events
        await replier.say(
            "utter_paquetes_listado",
            {"lista_paquetes": bulleted(package_line(p) for p in packages)},
            {"packages": [{"code": p.code, "price": str(p.price), "currency": p.currency} for p in packages]},
        )
        return []


class ActionAskPaquete(AssistantAction):
    """Asks which package to buy, as numbered options with prices."""

    def name(self) -> str:
        return "action_ask_paquete"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("list_packages") as call:
            packages = await self.services.booking_api.list_packages()
        if call.failed:
            return call.events
        await replier.say("utter_ask_paquete", buttons=[package_button(p) for p in packages])
        return []


class ValidatePagarForm(RegisteringFormValidation):
    """Matches the package the client named or picked."""

    def name(self) -> str:
        return "validate_pagar_form"

    async def validate_paquete(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("list_packages") as call:
            packages = await self.services.booking_api.list_packages()
        if call.failed:
            return {"paquete": None}
        package = find_package(str(value or ""), packages)
        if package is None:
            replier.validation_error("utter_paquete_desconocido", "paquete")
            return {"paquete": None}
        return {
            "paquete": package.code,
            "paquete_texto": f"{package.name} por {money_text(package.price, package.currency)}",
        }


# A pending purchase of the same package this recent is sent again instead of creating another: a
# double tap, or a turn retried after a crash (docs/deployment.md), must not leave unpaid twins behind.
REUSE_PENDING_WITHIN = timedelta(minutes=30)


def recent_pending(purchases: List[Purchase], package_id: int, now: datetime) -> Optional[Purchase]:
    """The newest pending purchase of this package created within `REUSE_PENDING_WITHIN`, if any."""
    candidates = [p for p in purchases if p.package_id == package_id and p.status == "pending"
                  and now - p.created_at <= REUSE_PENDING_WITHIN]
    return max(candidates, key=lambda p: p.created_at) if candidates else None


PAYMENT_DURING = "purchase_package"
PAYMENT_FAILURES_BEFORE_HANDOFF = 2


def _payment_failed(metadata: Dict[str, Any]) -> bool:
    return (metadata.get("error") or {}).get("during") == PAYMENT_DURING


def payment_failures(tracker: Tracker, dispatcher: CollectingDispatcher) -> int:
    """How often the payment link failed in this session, this run included (the apology's `error`)."""
    count = 0
    for event in tracker.events:
        if event.get("event") == "session_started":
            count = 0
        elif event.get("event") == "bot" and _payment_failed(event.get("metadata") or {}):
            count += 1
    return count + sum(1 for message in dispatcher.messages if _payment_failed(message))


class ActionPagarServicio(AssistantAction):
    """Creates the purchase (or reuses a pending one just made) and sends its payment link."""

    def name(self) -> str:
        return "action_pagar_servicio"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        done = clear_form_slots()
        phone = client_phone(tracker)
        if tracker.get_slot("confirmar_pago") is not True:
            await replier.say("utter_operacion_cancelada")
            return done
        if phone is None:
            await replier.say("utter_sin_telefono")
            return done
        events: List[EventType] = []
        async with replier.calling_api("purchase_package") as call:
            events += await register_if_needed(replier, tracker, phone)
            packages = await self.services.booking_api.list_packages()
            package = find_package(tracker.get_slot("paquete") or "", packages)
            if package is None:
                replier.validation_error("utter_paquete_desconocido", "paquete")
                return events + done
            api = self.services.booking_api
            purchase = recent_pending(await api.purchase_history(phone), package.id, datetime.now(timezone.utc))
            reused = purchase is not None
            if purchase is None:
                purchase = await api.purchase_package(phone, package.id)
        if call.failed:
            if payment_failures(tracker, dispatcher) >= PAYMENT_FAILURES_BEFORE_HANDOFF:
                events += [SlotSet(REASON_SLOT, "pago_fallido"), FollowupAction("action_pasar_a_humano")]
            return events + done + call.events
        await replier.say(
            "utter_link_pago",
            {
                "paquete_nombre": purchase.package_name,
                "monto": money_text(purchase.amount, purchase.currency),
                "link_pago": purchase.payment_url,
                "compra_id": purchase.id,
            },
            {"purchase": {"id": purchase.id, "amount": str(purchase.amount), "status": purchase.status,
                          "reused": reused}},
            event="purchase_link_resent" if reused else "purchase_created",
        )
        return events + done


class ActionConsultarHistorial(AssistantAction):
    """Lists the client's purchases (GET /client/purchase-history)."""

    def name(self) -> str:
        return "action_consultar_historial"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        result = await replier.for_client(self.services.booking_api.purchase_history, during="purchase_history")
        if not result.ok:
            return result.events
        purchases = result.value
        if not purchases:
            await replier.say("utter_historial_vacio")
            return []
        await replier.say(
            "utter_historial_listado",
            {"lista_compras": bulleted(purchase_line(p) for p in purchases)},
            {"purchases": [{"id": p.id, "amount": str(p.amount), "status": p.status} for p in purchases]},
        )
        return []

"""Request parsing for the booking sandbox: every bad input becomes a 422 `invalid_request` whose
`details` name the field, so the contract's error shape holds for all of them."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, Mapping

from rasa_project.phones import E164, WHATSAPP_PREFIX

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BOOKING_PREFIX = "RSV-"
PURCHASE_PREFIX = "PAY-"
BOOKING_OFFSET = 1000  # RSV-1001 is row 1
PURCHASE_OFFSET = 2000  # PAY-2001 is row 1


class ApiError(Exception):
    """An error answer of the API: HTTP status plus the contract's `{"error": {...}}` body."""

    def __init__(self, status: int, code: str, message: str, details: Dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})

    def body(self) -> Dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def invalid(details: Dict[str, str], message: str = "La solicitud tiene datos no válidos.") -> ApiError:
    return ApiError(422, "invalid_request", message, details)


def not_found(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(404, code, message, details)


def conflict(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(409, code, message, details)


def client_phone(headers: Mapping[str, str]) -> str:
    """The `X-Client-Phone` header in E.164; a `whatsapp:` prefix is tolerated."""
    raw = (headers.get("X-Client-Phone") or "").strip()
    if raw.lower().startswith(WHATSAPP_PREFIX):
        raw = raw[len(WHATSAPP_PREFIX) :].strip()
    if not E164.match(raw):
        raise invalid({"X-Client-Phone": "Se requiere un teléfono en formato E.164, p. ej. +5215512345678."})
    return raw


def phone_field(value: Any, field: str = "phone") -> str:
    if not isinstance(value, str) or not E164.match(value.strip()):
        raise invalid({field: "Debe ser un teléfono en formato E.164, p. ej. +5215512345678."})
    return value.strip()


def name_field(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid({"name": "El nombre no puede estar vacío."})
    cleaned = " ".join(value.split())
    if len(cleaned) > 80:
        raise invalid({"name": "El nombre admite como máximo 80 caracteres."})
    return cleaned


def email_field(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 254 or not EMAIL_RE.match(value.strip()):
        raise invalid({"email": "El correo electrónico no es válido."})
    return value.strip().lower()


def int_field(body: Mapping[str, Any], field: str) -> int:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid({field: "Debe ser un número entero positivo."})
    return value


def json_object(body: Any, allowed: set, required: set = frozenset()) -> Dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(body, dict):
        raise invalid({"body": "Se esperaba un objeto JSON."})
    details = {key: "Campo no permitido." for key in body if key not in allowed}
    details.update({key: "Campo obligatorio." for key in required if key not in body})
    if details:
        raise invalid(details)
    return body


def date_param(query: Mapping[str, str], field: str, default: date | None = None) -> date:
    raw = query.get(field)
    if raw is None or raw == "":
        if default is None:
            raise invalid({field: "Parámetro obligatorio (YYYY-MM-DD)."})
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid({field: "Fecha no válida; use YYYY-MM-DD."}) from None


def bool_param(query: Mapping[str, str], field: str, default: bool) -> bool:
    raw = query.get(field)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise invalid({field: "Use true o false."})


def choice_param(query: Mapping[str, str], field: str, choices: tuple, default: str) -> str:
    raw = query.get(field) or default
    if raw not in choices:
        raise invalid({field: f"Valores permitidos: {', '.join(choices)}."})
    return raw


def public_id(prefix: str, offset: int, row_id: int) -> str:
    return f"{prefix}{offset + row_id}"


def row_id(prefix: str, offset: int, value: str) -> int | None:
    """The table row of a public id like `RSV-1001`, or None when it cannot be one of ours."""
    if not value.upper().startswith(prefix):
        return None
    digits = value[len(prefix) :]
    if not digits.isdigit() or int(digits) <= offset:
        return None
    return int(digits) - offset

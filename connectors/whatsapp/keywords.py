"""Opt-out / opt-in keywords, matched against the WHOLE message only.

"cancelar" and "cancelar mi cita" are the booking intent `cancelar_cita`: a substring or prefix match
would unsubscribe every client who cancels a booking, so only an exact (case-, accent- and
punctuation-insensitive) match of the complete message counts.
"""

from __future__ import annotations

from typing import FrozenSet

from rasa_project.spanish_text import reply_key

OPT_OUT_KEYWORDS: FrozenSet[str] = frozenset(
    {
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "baja",
        "darme de baja",
        "dame de baja",
        "dar de baja",
        "cancelar suscripcion",
        "cancelar mi suscripcion",
        "cancelar la suscripcion",
        "no mas mensajes",
        "no quiero mas mensajes",
        "no quiero recibir mas mensajes",
        "ya no quiero recibir mensajes",
        "no me envien mas mensajes",
        "no me manden mas mensajes",
    }
)
OPT_IN_KEYWORDS: FrozenSet[str] = frozenset(
    {"start", "unstop", "alta", "darme de alta", "dame de alta", "suscribirme", "suscribir", "volver a suscribirme"}
)

def is_opt_out(text: str) -> bool:
    return reply_key(text) in OPT_OUT_KEYWORDS


def is_opt_in(text: str) -> bool:
    return reply_key(text) in OPT_IN_KEYWORDS

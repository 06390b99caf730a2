"""Opt-out / opt-in keywords, matched against the WHOLE message only.

"cancelar" and "cancelar mi cita" are the booking intent `cancelar_cita`: a substring or prefix match
would unsubscribe every client who cancels a booking, so only an exact (case-, accent- and
punctuation-insensitive) match of the complete message counts.
"""

from __future__ import annotations

import re
import unicodedata
from typing import FrozenSet

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

_EDGE_NOISE = re.compile(r"^[\W_]+|[\W_]+$")
_INNER_SPACE = re.compile(r"\s+")


def normalize_keyword(text: str) -> str:
    """Lower-case, accents removed, punctuation/emoji trimmed at both ends, inner spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    no_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = _INNER_SPACE.sub(" ", no_accents.casefold()).strip()
    return _EDGE_NOISE.sub("", folded).strip()


def is_opt_out(text: str) -> bool:
    return normalize_keyword(text) in OPT_OUT_KEYWORDS


def is_opt_in(text: str) -> bool:
    return normalize_keyword(text) in OPT_IN_KEYWORDS

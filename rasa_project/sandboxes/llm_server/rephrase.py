"""The stand-in's default answer: a deterministic, grounded rewording of the template it was sent.

It reads the data block our prompt builds (`<plantilla>`, `<nombre_cliente>`) and puts a warm opener
with the client's name before the template, so a local demo with a key reads naturally and never
changes a fact.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Dict, List

OPENERS = ("¡Hola{name}! 😊", "¡Hola{name}! 👋", "¡Qué gusto saludarte{name}!")
FALLBACK_REPLY = "¡Hola! ¿En qué te puedo ayudar?"
_TEMPLATE = re.compile(r"<plantilla>\s*(.*?)\s*</plantilla>", re.DOTALL)
_NAME = re.compile(r"<nombre_cliente>\s*(.*?)\s*</nombre_cliente>", re.DOTALL)
_GREETING = re.compile(r"^\W*(hola|buen[oa]s|qu[eé] gusto)", re.IGNORECASE)


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a multi-part content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: List[Dict[str, Any]]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def default_reply(messages: List[Dict[str, Any]]) -> str:
    """Opener with the client's first name, then the template unchanged."""
    prompt = last_user_text(messages)
    template_match = _TEMPLATE.search(prompt)
    if not template_match:
        return FALLBACK_REPLY
    template = template_match.group(1)
    name_match = _NAME.search(prompt)
    name: str | None = name_match.group(1) if name_match else None
    if _GREETING.match(template):
        return template
    opener = OPENERS[zlib.crc32(template.encode("utf-8")) % len(OPENERS)]
    suffix = f", {name}" if name and name != "desconocido" else ""
    return f"{opener.format(name=suffix)}\n\n{template}"

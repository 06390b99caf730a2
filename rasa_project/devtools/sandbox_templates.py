"""The repo's WhatsApp templates (`docs/templates/*.json`) created and approved in the Twilio sandbox.

The same steps an operator does in the Twilio console (docs/whatsapp-window.md), automated for the
sandbox only: `POST /v1/Content` with each file (Twilio's Content API create format), then
`POST /v1/Content/{HX}/ApprovalRequests/whatsapp {"name", "category": "UTILITY"}`, then read the approval
back. The SIDs reach the Rasa process as `WHATSAPP_TEMPLATES` (`templates_setting`). `local_stack.py` runs
this once the Twilio sandbox answers and before Rasa starts (so `make run` and the e2e suite have them).
Synchronous httpx: the stack starts from plain code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Mapping

import httpx

from rasa_project.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "docs" / "templates"
CATEGORY = "UTILITY"  # reminders, freed places, cancellations, follow-ups: all utility by Meta's rules


class TemplateSetupFailed(RuntimeError):
    """The sandbox refused a template or did not approve it."""


def load_templates(directory: Path = TEMPLATES_DIR) -> Dict[str, Dict[str, Any]]:
    """Template name (the file's stem, also its friendly_name) → its Content API create body."""
    found: Dict[str, Dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


def templates_setting(sids: Mapping[str, str]) -> str:
    """{name: HX...} → "name=HX...,name=HX..." (the format `settings.parse_templates` reads)."""
    return ",".join(f"{name}={sid}" for name, sid in sorted(sids.items()))


def create_and_approve(twilio_url: str, account_sid: str, auth_token: str,
                       directory: Path = TEMPLATES_DIR, timeout: float = 10.0) -> Dict[str, str]:
    """Create each template in the sandbox at `twilio_url`, request WhatsApp approval; {name: HX...}."""
    sids: Dict[str, str] = {}
    with httpx.Client(base_url=twilio_url.rstrip("/"), auth=(account_sid, auth_token), timeout=timeout) as http:
        for name, definition in load_templates(directory).items():
            created = http.post("/v1/Content", json=definition)
            if created.status_code != 201:
                raise TemplateSetupFailed(f"template {name}: create answered {created.status_code} {created.text}")
            sid = str(created.json()["sid"])
            asked = http.post(f"/v1/Content/{sid}/ApprovalRequests/whatsapp", json={"name": name, "category": CATEGORY})
            if asked.status_code != 201:
                raise TemplateSetupFailed(f"template {name}: approval request answered {asked.status_code} "
                                          f"{asked.text}")
            status = http.get(f"/v1/Content/{sid}/ApprovalRequests").json()["whatsapp"]["status"]
            if status != "approved":
                raise TemplateSetupFailed(f"template {name} ({sid}) is {status}, not approved")
            sids[name] = sid
    return sids

"""The Rasa project, the action server and the settings agree with each other.

`rasa data validate` cannot see responses that actions render, so it warns "not used in any story
or rule" for them; this test is the stronger check: every response is used by a rule, a story, a
form (utter_ask_<slot>) or an action's code, and every custom action is implemented.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from rasa_project.settings import PROJECT_ROOT, Settings

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
RASA_DEFAULT_ACTIONS = {"action_session_start"}


def text_of(paths: list[Path]) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def test_every_custom_action_is_registered_and_every_registered_action_is_in_the_domain() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = set(executor.actions)
    declared = set(DOMAIN["actions"])
    assert declared == registered, (declared - registered, registered - declared)


def test_every_response_is_used_somewhere() -> None:
    dialogue = text_of(sorted((PROJECT_ROOT / "data").rglob("*.yml")))
    code = text_of(sorted((PROJECT_ROOT / "actions").glob("*.py")))
    slots_asked = {slot for form in DOMAIN["forms"].values() for slot in form["required_slots"]}
    unused = [
        name for name in DOMAIN["responses"]
        if name not in dialogue and f'"{name}"' not in code and name.removeprefix("utter_ask_") not in slots_asked
    ]
    assert unused == []


def test_every_placeholder_of_an_action_rendered_response_is_provided() -> None:
    """A template rendered by an action must not leak "{placeholder}" to the client: each
    placeholder name appears in the actions' code (as the key of the values they pass)."""
    code = text_of(sorted((PROJECT_ROOT / "actions").glob("*.py")))
    slots = set(DOMAIN["slots"])
    missing = []
    for name, variations in DOMAIN["responses"].items():
        for variation in variations:
            for placeholder in re.findall(r"(?<!\{)\{([a-z_]+)\}(?!\})", variation.get("text", "")):
                if placeholder not in slots and f'"{placeholder}"' not in code:
                    missing.append((name, placeholder))
    assert missing == []


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", (PROJECT_ROOT / ".env.example").read_text(), flags=re.M))
    expected = {f.name.upper() for f in fields(Settings) if f.name != "extra"}
    assert expected - listed == set()
    assert listed - expected == set()


def test_settings_read_from_environment_with_types() -> None:
    settings = Settings.from_env({"RATE_LIMIT_MESSAGES": "3", "WEBHOOK_VALIDATE_SIGNATURE": "false",
                                  "LLM_SKIP_INTENTS": "saludo, ayuda", "LLM_TIMEOUT_SECONDS": "2.5"})
    assert settings.rate_limit_messages == 3 and settings.webhook_validate_signature is False
    assert settings.llm_skip_intents == ("saludo", "ayuda") and settings.llm_timeout_seconds == 2.5
    assert Settings.from_env({}).tracker_db_url.startswith("sqlite:///")

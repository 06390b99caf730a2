"""Check the action server's responses as Rasa does, without re-checking Rasa's own schema on every call.

Rasa 3.6 validates every custom action's response (`RemoteAction._validate_action_result`) with
`jsonschema.validate(result, schema)`, and `jsonschema.validate` first validates the *schema* against
the JSON Schema 2020-12 metaschema (`check_schema`) before it looks at the result. The schema is Rasa's
constant `action_response_format_spec()` (every event type's shape), so that check gives the same answer
every time, and it is the biggest single cost of a turn in the Rasa process: py-spy `--gil` on the
production layout under load put 47 % of the process's Python time in it, more than NLU and the
policies together (bench/README.md has the before/after figures).

Here the validator is built once, the schema checked once when it is built, and every response is then
checked against it with the same `best_match` error and the same message suffix as Rasa's, so a bad
response is rejected exactly as before (`tests/unit/test_action_response_check.py` compares the two on
valid and invalid responses). Applied where the fast model load is (`python -m rasa_project serve`),
and refused on any Rasa version but the one it was checked against (`rasa_release.py`), like `fast_load.py`.
"""

from __future__ import annotations

import functools
from typing import Any, Dict

from rasa_project.rasa_release import require_checked_release

_applied = False


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """The validator of Rasa's action-response schema; the schema itself checked here, once."""
    from jsonschema.validators import validator_for  # type: ignore[import-untyped]
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` of Rasa 3.6.21 with the validator built once."""
    from jsonschema import exceptions  # type: ignore[import-untyped]
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def apply() -> None:
    """Patch `RemoteAction` for serving (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import RemoteAction

    require_checked_release("action_response_check", "compare RemoteAction._validate_action_result with "
                            "its copy here, re-run tests/unit/test_action_response_check.py")
    RemoteAction._validate_action_result = validate_action_result
    response_validator()  # built now, at start-up, not by the first client's turn
    _applied = True

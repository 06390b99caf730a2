"""The one Rasa release our patches of Rasa's internals were checked against (`fast_load.py`,
`action_response_check.py`). Each patch refuses any other release, so an upgrade re-runs their proofs
before it serves a client."""

from __future__ import annotations

CHECKED_RASA_VERSION = "3.6.21"


class UnsupportedRasaVersion(RuntimeError):
    """A patch was checked against one Rasa release only."""


def require_checked_release(patch: str, recheck: str) -> None:
    """Raise unless the installed Rasa is `CHECKED_RASA_VERSION`; `recheck` says what to re-run first."""
    import rasa

    if rasa.__version__ != CHECKED_RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"{patch} was checked against rasa {CHECKED_RASA_VERSION}, not {rasa.__version__}: "
            f"{recheck} and update CHECKED_RASA_VERSION in rasa_project/rasa_release.py"
        )

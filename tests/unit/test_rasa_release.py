"""Both patches of Rasa's internals refuse a Rasa release they were not checked against."""

from __future__ import annotations

import pytest
import rasa

from rasa_project import action_response_check, fast_load
from rasa_project.rasa_release import UnsupportedRasaVersion


@pytest.mark.parametrize("patch", [fast_load, action_response_check])
def test_another_release_is_refused(patch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patch, "_applied", False)
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(UnsupportedRasaVersion, match="not 3.7.0"):
        patch.apply()

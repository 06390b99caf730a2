"""rasa_project.fast_load predicts exactly what Rasa's own loading does (its speed is a bench figure).

Both loads run in fresh processes on the project's trained model; the probe texts cover every intent,
entities with roles, the faq topics and TED's next action.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from rasa_project.devtools.model_cache import ensure_model
from rasa_project.settings import PROJECT_ROOT

PROBE = Path(__file__).with_name("probe_model.py")


def probe(model: Path, mode: str, tmp_path: Path) -> Dict[str, Any]:
    out = tmp_path / f"{mode}.json"
    subprocess.run([sys.executable, str(PROBE), str(model), str(out), mode], cwd=PROJECT_ROOT, check=True,
                   env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(PROJECT_ROOT)}, timeout=900)
    return dict(json.loads(out.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    model, tmp = ensure_model(), tmp_path_factory.mktemp("fast_load")
    return {mode: probe(model, mode, tmp) for mode in ("rasa", "fast")}


def test_the_same_predictions(loads: Dict[str, Dict[str, Any]]) -> None:
    rasa, fast = loads["rasa"]["results"], loads["fast"]["results"]
    assert rasa.keys() == fast.keys()
    for text in rasa:
        assert [name for name, _ in fast[text]["ranking"]] == [name for name, _ in rasa[text]["ranking"]], text
        confidences = [c for _, c in rasa[text]["ranking"]]
        assert [c for _, c in fast[text]["ranking"]] == pytest.approx(confidences, abs=1e-6), text
        assert fast[text]["entities"] == rasa[text]["entities"], text
        assert fast[text]["faq"] == rasa[text]["faq"], text
        assert fast[text]["ted"] == pytest.approx(rasa[text]["ted"], abs=1e-6), text


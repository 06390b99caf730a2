"""rasa_project.fast_load predicts exactly what Rasa's own loading does (its speed is a bench figure).

Both loads run in fresh processes on the project's trained model; the probe texts cover every intent,
entities with roles, the faq topics and TED's next action. Rasa's own load takes ~90 s, so its answers are
kept in `~/.cache/whatsapp-assistant/fast-load-reference/`, named by what determines them (the model's
bytes, the probe, the Rasa and TensorFlow versions): a second run on the same machine (CI after a
session) compares against them and only the fast load runs; any change to one of those loads Rasa again.
"""

from __future__ import annotations

import hashlib
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
REFERENCE_DIR = Path.home() / ".cache" / "whatsapp-assistant" / "fast-load-reference"


def probe(model: Path, mode: str, tmp_path: Path) -> Dict[str, Any]:
    out = tmp_path / f"{mode}.json"
    subprocess.run([sys.executable, str(PROBE), str(model), str(out), mode], cwd=PROJECT_ROOT, check=True,
                   env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(PROJECT_ROOT)}, timeout=900)
    return dict(json.loads(out.read_text(encoding="utf-8")))


def reference_key(model: Path) -> str:
    """What Rasa's own predictions depend on: the model, the probe texts, Rasa's and TensorFlow's code."""
    import rasa
    import tensorflow as tf

    digest = hashlib.sha256()
    for part in (model.read_bytes(), PROBE.read_bytes(), rasa.__version__.encode(), tf.__version__.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:24]


def rasa_reference(model: Path, tmp: Path) -> Dict[str, Any]:
    """Rasa's own load's answers: from the cache when the same inputs produced them before."""
    cached = REFERENCE_DIR / f"{reference_key(model)}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text(encoding="utf-8")))
    result = probe(model, "rasa", tmp)
    try:
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp")
        partial.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        partial.replace(cached)
    except OSError:  # a read-only home only costs the next run Rasa's load
        pass
    return result


@pytest.fixture(scope="module")
def loads(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, Any]]:
    model, tmp = ensure_model(), tmp_path_factory.mktemp("fast_load")
    return {"rasa": rasa_reference(model, tmp), "fast": probe(model, "fast", tmp)}


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


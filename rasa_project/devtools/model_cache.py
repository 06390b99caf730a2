"""Train the Rasa model only when its inputs changed: the model is named by a hash of them.

`models/model-<hash>.tar.gz` is reused when domain, config and training data are unchanged; a copy
kept in `~/.cache/whatsapp-assistant/models` lets a fresh clone on the same machine (CI) skip the
2–5 minutes of `rasa train`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List

from rasa_project.settings import PROJECT_ROOT

CACHE_DIR = Path.home() / ".cache" / "whatsapp-assistant" / "models"
# Rasa's own training cache, kept out of the project: plain `rasa test` reads every JSON file under
# the project root as test data, and Rasa's cache holds files it cannot read (a bare JSON number).
RASA_CACHE_DIR = Path.home() / ".cache" / "whatsapp-assistant" / "rasa-cache"


def training_inputs(root: Path = PROJECT_ROOT) -> List[Path]:
    files = [root / "domain.yml", root / "config.yml"]
    files += sorted(p for p in (root / "data").rglob("*") if p.is_file() and p.suffix in {".yml", ".yaml"})
    return files


def inputs_hash(files: Iterable[Path], root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_model(root: Path = PROJECT_ROOT) -> Path:
    """The model for the current inputs, trained (or taken from the cache) when missing.

    A file lock makes concurrent callers (test sessions, benches) wait for one training.
    """
    lock_path = root / "models" / ".training.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_model_locked(root)


def _ensure_model_locked(root: Path) -> Path:
    name = f"model-{inputs_hash(training_inputs(root), root)}"
    target = root / "models" / f"{name}.tar.gz"
    cached = CACHE_DIR / target.name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if cached.exists():
        shutil.copy2(cached, target)
        print(f"model {target.name} taken from {CACHE_DIR}", flush=True)
        return target
    rasa = Path(sys.executable).with_name("rasa")
    env = {**os.environ}
    env.setdefault("RASA_CACHE_DIRECTORY", str(RASA_CACHE_DIR))
    subprocess.run(
        [str(rasa), "train", "--fixed-model-name", name, "--out", str(target.parent)],
        cwd=root, check=True, env=env,
    )
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached)
    except OSError as exc:  # a read-only home only costs the next run a training
        print(f"could not cache the model: {exc}", file=sys.stderr)
    return target

"""Small helpers shared by the benchmarks: percentiles, machine facts, the model to load."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence

REDIS_BENCH_URL = "redis://127.0.0.1:6379/7"  # db 7 is the benchmarks' own


def percentile(values: Sequence[float], pct: float) -> Optional[float]:
    """Nearest-rank percentile (same rule as bench_llm_overhead.py); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> str:
    """`N cores, load a/b/c` — every printed table says how busy the machine was."""
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{platform.node()}, {os.cpu_count()} cores, load average {load}"


def fmt(value: Optional[float], digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def ratio(value: Optional[float], ours: Optional[float]) -> Optional[float]:
    if value is None or not ours:
        return None
    return value / ours


def bench_model(path: Optional[str] = None) -> Path:
    """`--model`, else the newest trained model in models/ (no lock: another session may be training),
    else `ensure_model()` (trains once when there is none)."""
    if path:
        return Path(path)
    from rasa_project.devtools.local_stack import latest_model

    try:
        return latest_model()
    except FileNotFoundError:
        from rasa_project.devtools.model_cache import ensure_model

        return ensure_model()


def choose(parser: argparse.ArgumentParser, text: str, known: Iterable[str], what: str = "variant") -> List[str]:
    """`a,b,c` → the names, in order; an unknown name stops the run before anything starts."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - set(known)
    if unknown:
        parser.error(f"unknown {what}(s): {', '.join(sorted(unknown))} (known: {', '.join(known)})")
    return names


@contextmanager
def work_dir(prefix: str, keep: bool) -> Iterator[Path]:
    """A temp dir for a bench's logs and generated files: removed at the end unless `--keep-logs`."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"logs kept in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)

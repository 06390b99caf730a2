"""`after_startup`: what a process holds after start-up leaves Python's full collections, once, and every
collection from then on is timed into `assistant_gc_pause_seconds`.

Each case runs in a fresh interpreter: freezing is for the whole process (and objects frozen stay frozen),
so the test process itself is left alone."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict

from rasa_project.settings import PROJECT_ROOT

SCRIPT = """
import gc, json, sys
from prometheus_client import REGISTRY
from rasa_project.garbage_collection import after_startup
def full_collections():
    return REGISTRY.get_sample_value("assistant_gc_pause_seconds_count", {"generation": "2"}) or 0.0
enabled = sys.argv[1] == "on"
cycle = []
cycle.append(cycle)  # start-up garbage: collected before the freeze, never frozen
del cycle
kept = [[n] for n in range(10000)]  # start-up's data (lists: always tracked), alive for good
before = full_collections()
first = after_startup("test", enabled)
after_first = gc.get_freeze_count()
timed_by_startup = full_collections() - before
second = after_startup("test", enabled)
young = [[n] for n in range(100)]
gc.collect()
print(json.dumps({"first": first, "after_first": after_first, "second": second,
                  "frozen_now": gc.get_freeze_count(), "timed_by_startup": timed_by_startup,
                  "full_collections": full_collections(), "callbacks": gc.callbacks.count(gc.callbacks[-1]),
                  "kept": len(kept), "young": len(young)}))
"""


def run(mode: str) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_startup_heap_is_frozen_once_and_collections_are_timed() -> None:
    result = run("on")
    assert result["first"] > 10000  # the kept lists at least
    assert result["first"] == result["after_first"]
    assert result["second"] == 0  # a second app start-up in the same process freezes nothing more
    assert result["frozen_now"] == result["after_first"]  # what came later is collected as usual
    assert result["timed_by_startup"] == 1  # the collection before the freeze is timed too
    assert result["full_collections"] == 2  # ... and so is the later one, by a single hook
    assert result["callbacks"] == 1


def test_freezing_can_be_turned_off_and_pauses_are_still_timed() -> None:
    result = run("off")
    assert result["first"] == 0 and result["after_first"] == 0 and result["frozen_now"] == 0
    assert result["full_collections"] == 1

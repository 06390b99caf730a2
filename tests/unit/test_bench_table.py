"""`python -m bench` builds its one table from each bench's result: the rows must survive every subset of
variants (a bench run with `--variants ours,rest` must not crash at the end and lose the figures)."""

from __future__ import annotations

import itertools
import os
from typing import Any, Dict

import pytest

from bench.__main__ import channel_rows


def variant(ack: float, turn: float, cpu: Dict[str, float]) -> Dict[str, Any]:
    return {"ack_p50_ms": ack, "ack_p95_ms": ack * 2, "ack_p99_ms": ack * 3, "turn_p50_ms": turn,
            "turn_p95_ms": turn * 1.5, "turns_per_s": 10.0, "cpu_s": cpu, "messages_total": 100,
            "db_commits_per_message": 8.0, "db_rollbacks_per_message": 0.0}


ALL = {
    "ours": variant(100, 1000, {"rasa": 7.0}),
    "ingress": variant(20, 900, {"rasa": 5.0, "ingress": 1.0}),
    "ours2": variant(90, 950, {"rasa": 4.0, "rasa1": 4.0}),
    "ingress2": variant(15, 700, {"rasa": 3.0, "rasa1": 3.0, "ingress": 1.0}),
    "twilio": variant(1000, 950, {"rasa_reference": 6.0}),
    "rest": variant(800, 800, {"rasa_reference": 5.0}),
}


@pytest.mark.parametrize("keys", [c for n in range(1, len(ALL) + 1) for c in itertools.combinations(ALL, n)])
def test_every_subset_of_variants_gives_rows(keys: tuple) -> None:
    rows = channel_rows({"variants": {k: ALL[k] for k in keys}, "senders": 20, "messages": 5, "concurrency": 20})
    assert all(len(row) == 5 for row in rows)


def test_the_production_layout_is_compared_with_the_stock_channels() -> None:
    rows = channel_rows({"variants": ALL, "senders": 20, "messages": 5, "concurrency": 20})
    cpu = [r for r in rows if r[0] == "Rasa CPU s per turn, ours, ingress + 1 Rasa" and r[2].startswith("Rasa ")]
    assert [(r[1], r[2], r[3], r[4]) for r in cpu] == [
        ("0.050", "Rasa TwilioInput (built-in)", "0.060", "1.20"),
        ("0.050", "Rasa REST (ack = whole turn)", "0.050", "1.00")]
    assert ("ingress process CPU s per message, ours, ingress + 1 Rasa", "0.010", "", "", "") in rows


def test_the_two_process_ratio_is_shown_against_the_machines_cpu_ceiling() -> None:
    ours = dict(ALL["ours"], cpu_s={"rasa": 7.0, "actions": 0.5, "postgres": 0.5})  # 0.08 CPU s per message
    rows = channel_rows({"variants": {"ours": ours, "ours2": ALL["ours2"]}, "senders": 20, "messages": 5,
                         "concurrency": 20})
    ceiling = [r for r in rows if r[2].startswith("this machine's ceiling")]
    assert [r[3] for r in ceiling] == [f"{(os.cpu_count() or 1) / 0.08 / 10.0:.2f}"]


def test_the_same_process_rounds_give_the_median_ratio_row() -> None:
    paired = {"rounds": [{"ingress": 0.052, "rest": 0.050, "ratio": 1.04},
                         {"ingress": 0.060, "rest": 0.050, "ratio": 1.20},
                         {"ingress": 0.051, "rest": 0.050, "ratio": 1.02}],
              "median_ratio": 1.04, "median_ours_s": 0.052, "median_rest_s": 0.050}
    rows = channel_rows({"variants": {**ALL, "paired": paired}, "senders": 20, "messages": 5, "concurrency": 20})
    same = [r for r in rows if r[0].startswith("Rasa CPU s per turn, same process")]
    assert same == [("Rasa CPU s per turn, same process, median of 3 alternating rounds", "0.052",
                     "Rasa REST in that process", "0.050", "0.96 (ours ÷ REST 1.04 / 1.20 / 1.02)")]
    without = channel_rows({"variants": {"ingress": ALL["ingress"], "paired": {"rounds": []}}, "senders": 20,
                            "messages": 5, "concurrency": 20})
    assert not [r for r in without if r[0].startswith("Rasa CPU s per turn, same process")]


def test_full_collections_are_shown_per_variant_that_measured_them() -> None:
    ingress = dict(ALL["ingress"], gc_full_collections=2.0, gc_full_pause_ms=12.5)
    rows = channel_rows({"variants": {"ours": ALL["ours"], "ingress": ingress}, "senders": 20, "messages": 5,
                         "concurrency": 20})
    gc_rows = [r for r in rows if r[0].startswith("full GC collections")]
    assert gc_rows == [("full GC collections in the load, count / ms in all (ours, ingress + 1 Rasa)", "2 / 12.5",
                        "", "", "")]


def test_the_longer_load_gives_its_own_two_process_row() -> None:
    ours = dict(ALL["ours"], scale={"senders": 60, "turns_per_s": 10.0, "answered": 300, "sent": 300})
    two = dict(ALL["ours2"], scale={"senders": 60, "turns_per_s": 17.0, "answered": 300, "sent": 300})
    rows = channel_rows({"variants": {"ours": ours, "ours2": two}, "senders": 20, "messages": 5, "concurrency": 20})
    longer = [r for r in rows if r[0] == "throughput, 2 Rasa processes / 1, 60x5 load"]
    assert longer == [("throughput, 2 Rasa processes / 1, 60x5 load", "1.70",
                       "issue 13 target ≥ 1.6× (10.00 → 17.00 turns/s)", "1.60", "0.94")]
    assert len([r for r in rows if r[0].startswith("throughput, 2 Rasa processes / 1")]) == 2  # the 20x5 one too


def test_the_production_layout_gets_its_own_two_process_rows() -> None:
    """ingress + 2 Rasa against ingress + 1 Rasa: the ratio, the longer load's, the ceiling of the 1-process
    stack, and the Rasa CPU and transactions per message of both."""
    one = dict(ALL["ingress"], cpu_s={"rasa": 5.0, "ingress": 1.0, "postgres": 1.0, "actions": 1.0},
               scale={"senders": 60, "turns_per_s": 10.0, "answered": 300, "sent": 300})
    two = dict(ALL["ingress"], turns_per_s=14.0, cpu_s={"rasa": 3.0, "rasa1": 3.0, "ingress": 1.0},
               db_commits_per_message=10.0, scale={"senders": 60, "turns_per_s": 13.0, "answered": 300, "sent": 300})
    rows = channel_rows({"variants": {"ingress": one, "ingress2": two}, "senders": 20, "messages": 5,
                         "concurrency": 20})
    mine = [r for r in rows if r[0].startswith("throughput, production layout")]
    assert mine == [
        ("throughput, production layout, 2 Rasa processes / 1 (ingress2 / ingress)", "1.40",
         "issue 13 target ≥ 1.6×", "1.60", "1.14"),
        ("throughput, production layout, 2 Rasa processes / 1, 60x5 load", "1.30",
         "issue 13 target ≥ 1.6× (10.00 → 13.00 turns/s)", "1.60", "1.23"),
        ("throughput, production layout, 2 Rasa processes / 1 (ingress2 / ingress)", "1.40",
         "this machine's ceiling (cores ÷ CPU of all per message)", f"{(os.cpu_count() or 1) / 0.08 / 10.0:.2f}",
         f"{(os.cpu_count() or 1) / 0.08 / 10.0 / 1.4:.2f}")]
    assert ("Rasa CPU s per turn, ours, ingress + 1 Rasa", "0.050", "ours, ingress + 2 Rasa + Redis lock", "0.060",
            "1.20") in rows
    assert ("DB transactions per message (commits + rollbacks), ours, ingress + 1 Rasa", "8.0 + 0.0 = 8.0",
            "ours, ingress + 2 Rasa + Redis lock", "10.0 + 0.0 = 10.0", "1.25") in rows

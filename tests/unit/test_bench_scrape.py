"""The channel bench reads server-side figures from the processes' /metrics: the turn and ack histograms
and the full garbage collections (generation 2 only; the other generations are not what pauses a turn)."""

from __future__ import annotations

from unittest import mock

import bench.channel_stacks as stacks

METRICS = """# HELP assistant_turn_seconds ...
assistant_turn_seconds_count 5.0
assistant_turn_seconds_sum 2.5
assistant_turn_seconds_bucket{le="1.0"} 4.0
assistant_gc_pause_seconds_count{generation="0"} 100.0
assistant_gc_pause_seconds_sum{generation="0"} 0.05
assistant_gc_pause_seconds_count{generation="2"} 3.0
assistant_gc_pause_seconds_sum{generation="2"} 0.018
assistant_gc_pause_seconds_bucket{generation="2",le="0.01"} 3.0
"""


def test_turns_acks_and_full_collections_are_read() -> None:
    with mock.patch.object(stacks.httpx, "get", return_value=mock.Mock(text=METRICS)):
        values = stacks.scrape_histograms("http://127.0.0.1:1/metrics")
    assert values == {"assistant_turn_seconds_count": 5.0, "assistant_turn_seconds_sum": 2.5,
                      "assistant_gc_full_pause_seconds_count": 3.0, "assistant_gc_full_pause_seconds_sum": 0.018}

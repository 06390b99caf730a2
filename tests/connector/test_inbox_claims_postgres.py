"""Workers racing for the same senders on Postgres (several Rasa processes on one inbox, each woken by every
NOTIFY while the ingress keeps accepting): every message is claimed once and finished once, in order per
sender. The race it guards: a claim reads the sender's oldest unfinished id from its snapshot, then locks
that row after another worker finished it; it must not take it again. Driven by the inbox bench's
harness (`bench/bench_inbox.py`: the real `InboxStore`, accepting and claiming threads), checked, not timed."""

from __future__ import annotations

from bench.bench_inbox import run_once


def test_racing_workers_claim_and_finish_each_message_once_in_order(pg_url: str) -> None:
    result = run_once(pg_url, senders=300, messages=5, claimers=4, acceptors=2)
    assert not result["errors"], result["errors"]
    assert result["finished_twice"] == 0 and result["claimed_again_rows"] == 0, (
        f"{result['finished_twice']} messages finished twice, {result['claimed_again_rows']} rows claimed again "
        f"(claim orders e.g. {result['out_of_order_examples']})")
    assert result["finished_once"] and result["in_order"] and result["db_checked"], result

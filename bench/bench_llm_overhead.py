"""How much time phrasing adds on top of the model itself.

Starts the OpenAI-compatible stand-in (`python -m rasa_project.sandboxes.llm_server`) in its own process
with a fixed model latency, calls `Phraser.phrase` N times with some concurrency, and prints p50/p95 of
the total time and of our overhead (total - the stand-in's latency): HTTP, JSON, the openai client,
the prompt and the grounding check. Prints figures only; there is no pass/fail.

    .venv/bin/python bench/bench_llm_overhead.py [--requests 100] [--concurrency 10] [--latency-ms 300]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import List, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402

from bench.common import percentile  # noqa: E402
from rasa_project.devtools.local_stack import free_port  # noqa: E402
from rasa_project.phrasing import Phraser, PhrasingRequest, Turn  # noqa: E402
from rasa_project.phrasing.grounding import check_reply  # noqa: E402
from rasa_project.phrasing.prompt import build_messages  # noqa: E402
from rasa_project.settings import Settings  # noqa: E402

FACTS = {
    "booking_id": "RSV-1001",
    "class_name": "Yoga restaurativo",
    "starts_at": "2025-11-27T18:00:00-06:00",
    "starts_at_text": "jueves 27 de noviembre, 18:00",
    "price": "800.00",
    "currency": "MXN",
    "payment_link": "https://pagos.estudio-equilibrio.mx/p/PAY-2001",
}
TEMPLATE = (
    "Listo, reservé tu clase de Yoga restaurativo para el jueves 27 de noviembre, 18:00 (folio RSV-1001).\n"
    "Total: $800.00 MXN. Puedes pagar aquí: https://pagos.estudio-equilibrio.mx/p/PAY-2001"
)
REQUEST = PhrasingRequest(
    intent="reservar_clase",
    facts=FACTS,
    template_text=TEMPLATE,
    first_name="Ana",
    history=(
        Turn("user", "quiero yoga el jueves"),
        Turn("bot", "Tengo jueves 27 de noviembre, 18:00. ¿Te la reservo?"),
    ),
    user_message="sí, esa",
)


async def start_stand_in(port: int, latency_ms: float) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rasa_project.sandboxes.llm_server",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
        cwd=str(PROJECT_ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.get(f"http://127.0.0.1:{port}/_sandbox/requests")
                return process
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    process.terminate()
    raise RuntimeError("the LLM stand-in did not start within 10 s")


async def run_phrasing(phraser: Phraser, requests: int, concurrency: int) -> List[float]:
    """Seconds per phrase() call; every call must have used the LLM (else the figures mean nothing)."""
    semaphore = asyncio.Semaphore(concurrency)
    durations: List[float] = []

    async def one() -> None:
        async with semaphore:
            started = time.perf_counter()
            reply = await phraser.phrase(REQUEST)
            durations.append(time.perf_counter() - started)
            if reply.source != "llm":
                raise RuntimeError(f"phrasing fell back to the template: {reply.reason}")

    await asyncio.gather(*(one() for _ in range(requests)))
    return durations


def cpu_only_ms(repeat: int = 300) -> tuple:
    """Per-call cost of building the prompt and of the grounding check, no I/O."""
    settings = Settings()
    reply = "¡Hola, Ana! 😊\n\n" + TEMPLATE
    started = time.perf_counter()
    for _ in range(repeat):
        build_messages(REQUEST, history_turns=settings.llm_history_turns, business_name=settings.business_name)
    prompt_ms = (time.perf_counter() - started) * 1000 / repeat
    started = time.perf_counter()
    for _ in range(repeat):
        assert check_reply(reply, FACTS, TEMPLATE).ok
    check_ms = (time.perf_counter() - started) * 1000 / repeat
    return prompt_ms, check_ms


def row(label: str, values_ms: Sequence[float]) -> str:
    return (
        f"| {label:<28} | {percentile(values_ms, 50):8.1f} | {percentile(values_ms, 95):8.1f} | {max(values_ms):8.1f} |"
    )


async def run(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    args = parser.parse_args(argv)

    port = free_port()
    process = await start_stand_in(port, args.latency_ms)
    settings = dataclasses.replace(
        Settings(),
        openrouter_base_url=f"http://127.0.0.1:{port}/v1",
        openrouter_api_key="sk-or-bench",
        llm_timeout_seconds=10.0,
    )
    phraser = Phraser.from_settings(settings)
    try:
        await run_phrasing(phraser, 5, 1)  # warm-up: connections, first-call imports
        sequential = [d * 1000 for d in await run_phrasing(phraser, min(args.requests, 30), 1)]
        wall_started = time.perf_counter()
        concurrent = [d * 1000 for d in await run_phrasing(phraser, args.requests, args.concurrency)]
        wall = time.perf_counter() - wall_started
    finally:
        await phraser.aclose()
        process.terminate()
        await process.wait()
    prompt_ms, check_ms = cpu_only_ms()

    latency = args.latency_ms
    print(
        f"LLM phrasing overhead: stand-in latency {latency:.0f} ms, {args.requests} calls at concurrency "
        f"{args.concurrency} ({args.requests / wall:.1f} calls/s), plus {len(sequential)} sequential calls"
    )
    print("| measure (ms)                 |      p50 |      p95 |      max |")
    print("|------------------------------|----------|----------|----------|")
    print(row("total, sequential", sequential))
    print(row("overhead, sequential", [v - latency for v in sequential]))
    print(row(f"total, concurrency {args.concurrency}", concurrent))
    print(row(f"overhead, concurrency {args.concurrency}", [v - latency for v in concurrent]))
    print(
        f"CPU only, per call: prompt build {prompt_ms:.3f} ms, grounding check {check_ms:.3f} ms "
        f"(mean of 300; stdev of sequential totals {statistics.pstdev(sequential):.1f} ms)"
    )
    overhead = [v - latency for v in concurrent]
    overhead_seq = [v - latency for v in sequential]
    return {
        "latency_ms": latency, "requests": args.requests, "concurrency": args.concurrency,
        "overhead_p50_ms": percentile(overhead, 50), "overhead_p95_ms": percentile(overhead, 95),
        "overhead_seq_p50_ms": percentile(overhead_seq, 50), "overhead_seq_p95_ms": percentile(overhead_seq, 95),
        "calls_per_s": args.requests / wall, "prompt_ms": prompt_ms, "check_ms": check_ms,
    }


def main(argv: Sequence[str] | None = None) -> dict:
    """Prints the table and returns the figures (for `python -m bench`)."""
    return asyncio.run(run(argv))


if __name__ == "__main__":
    main()

"""Run as a script: load a model (with or without rasa_project.fast_load) and dump what it predicts.

    python tests/model/probe_model.py MODEL OUT.json fast|rasa

For each probe text: the intent ranking, the entities, the faq topic the ResponseSelector picks; and TED's
next-action probabilities after each text as the first message of a conversation.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

PROBES = [
    "hola", "quiero agendar yoga el viernes a las 8am", "kiero sacar turno pa pilates el viernes a las 9 d la mañana",
    "pasado mañana a las 7pm yoga porfa", "puedo cambiar mi clase de yoga del jueves para el viernes a la misma hora?",
    "que horarios hay el sabado", "cancela mi clase de mañana", "cuanto cuesta el bono de 10", "quiero pagar",
    "mis compras", "tengo reservas?", "cambiar mi correo a ana@example.com", "dónde están?", "hay estacionamiento",
    "qué llevo a pilates", "la primera clase es gratis?", "con cuánto tiempo cancelo", "cuánto dura el paquete",
    "si", "no", "gracias, chao", "ayuda", "a qué hora cierra el metro hoy", "muéveme la de yoga a las 8",
    "el 12/12 a las 11", "masaje", "Ana López", "te doy un 5", "asdfgh qwerty", "19 hs",
]


async def probe(model: str) -> dict:
    from rasa.core.agent import Agent
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    started = time.monotonic()
    agent = Agent.load(model)
    load_seconds = time.monotonic() - started
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    ted = next(node._component for name, node in nodes.items() if "TEDPolicy" in name)
    assert getattr(ted, "model", None) is not None, "TED loaded without its model"
    results = {}
    for text in PROBES:
        parsed = await agent.parse_message(text)
        tracker = DialogueStateTracker.from_events("probe", [ActionExecuted("action_listen")], slots=agent.domain.slots)
        tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed))
        ted_prediction = ted.predict_action_probabilities(tracker, agent.domain, precomputations=None)
        results[text] = {
            "ranking": [(r["name"], r["confidence"]) for r in parsed.get("intent_ranking") or []],
            "entities": sorted((e["entity"], str(e["value"]), e.get("role")) for e in parsed["entities"]),
            "faq": ((parsed.get("response_selector") or {}).get("faq") or {}).get("response", {})
            .get("intent_response_key"),
            "ted": list(ted_prediction.probabilities),
        }
    return {"load_seconds": load_seconds, "results": results}


def main() -> None:
    model, out, mode = sys.argv[1:4]
    if mode == "fast":
        from rasa_project.fast_load import apply

        apply()
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(asyncio.run(probe(model)), handle)


if __name__ == "__main__":
    main()

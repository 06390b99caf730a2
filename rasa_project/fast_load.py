"""Load a trained model in seconds instead of a minute and a half, with the same predictions.

Where Rasa 3.6's start-up goes (py-spy, this project's model): ~75% of it is `RasaModel.load` re-running
one *training* step per TensorFlow model (compile + fit on one example, which traces the whole
`train_step` graph, the entity CRF loss alone 17 s) only to create the variables before
`load_weights`; inference never uses the optimizer state that step builds. Here the variables are
instead created by one eager forward pass on the stored prediction example and restored from the
checkpoint as they are created (`load_weights(...).expect_partial()`: the optimizer slots in the
checkpoint are skipped), then the prediction function is traced as Rasa does. Tracing it without
AutoGraph (`autograph=False`) cuts a few more seconds: Rasa's prediction code branches on Python
values only (a tensor branch would fail loudly at trace time, never mispredict).

`tests/model/test_fast_load.py` proves the parses, response-selector picks, entities and TED action
probabilities are identical with and without it. It patches Rasa's internals, so it refuses any Rasa
version but the one it was checked against, and leaves fine-tuning (`rasa train --finetune`) on Rasa's
own path. Only serving applies it (`python -m rasa_project serve run ...`); training never does.
"""

from __future__ import annotations

import functools
import logging
import time
import types
from typing import Any

from rasa_project.rasa_release import require_checked_release

logger = logging.getLogger(__name__)

_applied = False


def apply() -> None:
    """Patch Rasa's model loading for serving (idempotent)."""
    global _applied
    if _applied:
        return
    require_checked_release("fast_load", "re-run tests/model/test_fast_load.py")
    _load_without_training_step()
    _trace_predictions_without_autograph()
    _applied = True


def _load_without_training_step() -> None:
    from rasa.utils.tensorflow import models
    from rasa.utils.tensorflow.constants import RUN_EAGERLY

    rasa_load = models.RasaModel.load.__func__

    def load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
        if finetune_mode or predict_data_example is None:  # training continues: it needs the optimizer state
            return rasa_load(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                             *args, **kwargs)
        started = time.monotonic()
        model = cls(*args, **kwargs)
        configured_eagerly = kwargs.get("config", {}).get(RUN_EAGERLY)
        model.load_weights(model_file_name).expect_partial()  # restored as the forward pass builds them
        model.run_eagerly = True
        model.run_inference(predict_data_example)  # builds every layer: weights restored on creation
        model.run_eagerly = configured_eagerly
        model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa's warm-up does
        logger.info("%s loaded for serving in %.1f s", cls.__name__, time.monotonic() - started)
        return model

    models.RasaModel.load = classmethod(load)


def _trace_predictions_without_autograph() -> None:
    import tensorflow as tf  # type: ignore[import-untyped]
    from rasa.utils.tensorflow import models

    class _TensorFlow(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(tf, name)

    proxy = _TensorFlow("tensorflow_without_autograph")
    proxy.function = functools.partial(tf.function, autograph=False)  # type: ignore[attr-defined]
    models.tf = proxy


def run_rasa(argv: list[str]) -> int:
    """`rasa <argv>` in this process, with the fast loading applied (`python -m rasa_project serve run ...`), and
    the action server's responses checked without re-checking Rasa's schema each time (`action_response_check.py`)."""
    import sys

    from rasa_project import action_response_check

    apply()
    action_response_check.apply()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    try:
        rasa_main()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0

"""The key-recall task: a transformer attends back L steps where a vanilla RNN forgets."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.longrange import (
    RecallTask,
    RecallTrainConfig,
    make_recall_batch,
    recall_table,
    recurrent_builder,
    transformer_builder,
)

TASK = RecallTask(n_keys=4, n_distractors=4)
CONFIG = RecallTrainConfig(steps=150, batch_size=32, lr=3e-3, eval_size=256, seed=0)


def test_batches_put_the_key_first_and_distractors_after() -> None:
    ids, keys = make_recall_batch(TASK, lag=6, batch_size=50, rng=0)
    assert ids.shape == (50, 7) and keys.shape == (50,)
    np.testing.assert_array_equal(ids[:, 0], keys)
    assert keys.max() < TASK.n_keys and ids[:, 1:].min() >= TASK.n_keys
    again, _ = make_recall_batch(TASK, lag=6, batch_size=50, rng=0)
    np.testing.assert_array_equal(ids, again)


def test_lag_is_validated() -> None:
    with pytest.raises(ValueError, match="lag"):
        make_recall_batch(TASK, lag=0, batch_size=4, rng=0)


@pytest.mark.slow
def test_transformer_holds_accuracy_where_the_rnn_fails() -> None:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is faster and immune to a busy machine
    try:
        rows = recall_table(
            {"rnn": recurrent_builder("rnn"), "transformer": transformer_builder()},
            lags=[3, 30],
            task=TASK,
            config=CONFIG,
        )
    finally:
        torch.set_num_threads(threads)
    acc = {(r["model"], r["lag"]): r["accuracy"] for r in rows}
    assert acc["rnn", 3] > 0.9, "the task is learnable by the RNN at a short lag"
    assert acc["rnn", 30] < 0.5, "the vanilla RNN should not bridge 30 steps in 150 updates"
    assert acc["transformer", 30] > 0.9, "attention reaches straight back to the key"

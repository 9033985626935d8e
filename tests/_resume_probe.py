"""A TinyBERT task distillation for tests/test_resume.py, run in a subprocess.

    python tests/_resume_probe.py OUT MODE [KILL_STEP]

MODE ``plain`` trains without checkpoints; ``checkpointed`` trains with them in
``OUT/checkpoint`` and, given KILL_STEP, sends itself SIGKILL after that many steps
(counted over both stages); run it again without KILL_STEP to resume. Each finished
run saves the student's weights, its dev logits and the history under OUT/MODE-*.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import keras
import numpy as np

import kdzoo
from kdzoo.api import save_state
from kdzoo.models import BertModel

EPOCHS, BATCH, EVERY = 3, 8, 3  # 64 rows: 8 steps per epoch, 24 per stage


def main() -> None:
    out, mode = Path(sys.argv[1]), sys.argv[2]
    kill_step = int(sys.argv[3]) if len(sys.argv) > 3 else None
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 60, (80, 12)).astype("int32"),
        "padding_mask": np.ones((80, 12), "int32"),
    }
    y = rng.integers(0, 3, 80).astype("int32")
    train = ({k: v[:64] for k, v in x.items()}, y[:64])
    dev = {k: v[64:] for k, v in x.items()}
    keras.utils.set_random_seed(0)
    teacher = BertModel("micro-2l-32h", vocab_size=64, num_labels=3)
    student = BertModel(
        "micro-2l-32h",
        vocab_size=64,
        num_labels=3,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )

    class Kill(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            Kill.steps += 1
            if Kill.steps == kill_step:
                os.kill(os.getpid(), signal.SIGKILL)

    result = kdzoo.distill(
        "tinybert",
        teacher,
        student,
        data=train,
        epochs=EPOCHS,
        batch_size=BATCH,
        seed=3,
        callbacks=[Kill()] if kill_step else None,
        checkpoint_dir=None if mode == "plain" else out / "checkpoint",
        checkpoint_every=EVERY,
        verbose=0,
    )
    save_state(out / f"{mode}-weights.npz", student)
    np.save(out / f"{mode}-dev-logits.npy", keras.ops.convert_to_numpy(student(dev)["logits"]))
    (out / f"{mode}-history.json").write_text(json.dumps(result.history))


if __name__ == "__main__":
    main()

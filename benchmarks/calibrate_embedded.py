"""Calibrate an embedded task: teacher vs labels-only students, dev accuracy and time.

The embedded tasks must leave a gap for distillation to close (issue: tasks and data):
a TinyBERT-shaped student trained on labels alone should score at least 5 points below
the teacher, and a BiLSTM further below. This script measures exactly that::

    KERAS_BACKEND=jax python benchmarks/calibrate_embedded.py synth-nli --epochs 5

and prints one JSON line per model (dev accuracy, training seconds).
"""

from __future__ import annotations

import argparse
import json
import time

import keras

import kdzoo
from kdzoo.data.embedded import embedded_corpus
from kdzoo.models import BertModel, BiLSTMClassifier, BiLSTMConfig
from kdzoo.teachers import finetune
from kdzoo.tokenization import WordVocab, encode, train_wordpiece


def _fit(model, x, y, x_dev, y_dev, lr, epochs, batch_size=32):
    start = time.perf_counter()
    finetune(model, x, y, epochs=epochs, batch_size=batch_size, learning_rate=lr, verbose=0)
    seconds = time.perf_counter() - start
    logits = model.predict(x_dev, batch_size=256, verbose=0)["logits"]
    return float((logits.argmax(-1) == y_dev).mean()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", default="synth-nli", nargs="?")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train", type=int, default=6000)
    parser.add_argument("--teacher", default="mini-6l-256h")
    parser.add_argument("--student", default="mini-2l-128h")
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()

    data = kdzoo.load_task(args.task, max_train_examples=args.train)
    spec, train, dev = data.spec, data["train"], data["dev"]
    corpus = embedded_corpus(20000)
    texts = [t for f in spec.text_fields for t in train.texts[f]]
    tokenizer = train_wordpiece(corpus + texts, vocab_size=1024)

    def bert_inputs(split):
        first, second = split.columns(spec)
        return encode(tokenizer, first, second, max_length=args.max_length)

    x_train, x_dev = bert_inputs(train), bert_inputs(dev)
    for role, preset in (("teacher", args.teacher), ("student", args.student)):
        keras.utils.set_random_seed(0)
        model = BertModel(
            preset,
            vocab_size=len(tokenizer),
            num_labels=spec.num_labels,
            max_position_embeddings=max(args.max_length, 64),
        )
        acc, seconds = _fit(model, x_train, train.labels, x_dev, dev.labels, 5e-4, args.epochs)
        print(
            json.dumps({"model": f"{role} {preset}", "dev_accuracy": acc, "seconds": seconds}),
            flush=True,
        )

    vocab = WordVocab.build(corpus)

    def word_inputs(split):
        first, second = split.columns(spec)
        out = vocab.encode(first, args.max_length)
        if second is not None:
            b = vocab.encode(second, args.max_length)
            out.update(token_ids_b=b["token_ids"], padding_mask_b=b["padding_mask"])
        return out

    keras.utils.set_random_seed(0)
    bilstm = BiLSTMClassifier(
        BiLSTMConfig(
            vocab_size=len(vocab),
            num_labels=spec.num_labels,
            pair=spec.is_pair,
            embedding_dim=64,
            hidden_size=64,
            fc_size=64,
        )
    )
    acc, seconds = _fit(
        bilstm, word_inputs(train), train.labels, word_inputs(dev), dev.labels, 2e-3, args.epochs
    )
    print(json.dumps({"model": "student bilstm", "dev_accuracy": acc, "seconds": seconds}))


if __name__ == "__main__":
    main()

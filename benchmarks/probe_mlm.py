"""Probe an MLM pre-trained on the embedded corpus: does it know hypernyms and polarity?

    KERAS_BACKEND=torch python benchmarks/probe_mlm.py LAYERS HIDDEN EPOCHS LR [DROPOUT]

Prints the MLM loss per epoch, then for each adjective whether "the film was ADJ so i
[MASK] it" prefers loved/enjoyed/liked over hated/disliked, and for each noun the top
guess for "a NOUN is a kind of [MASK]" (right if it is an ancestor; exact if it is the
direct parent). A diagnostic for calibrating kdzoo.teachers: what it showed is in the
docstring of kdzoo.data.embedded.embedded_corpus and of kdzoo.teachers.TeacherRecipe.
"""

import sys
import time

import keras
import numpy as np

from kdzoo.data.embedded import (
    _HYPERNYM,
    _NEGATIVE,
    _POSITIVE,
    HELD_OUT_WORDS,
    _ancestors,
    embedded_corpus,
)
from kdzoo.models import BertModel
from kdzoo.teachers import pretrain_mlm
from kdzoo.tokenization import encode, train_wordpiece

L, H, E = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
DROPOUT = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
corpus = embedded_corpus(20000)
tok = train_wordpiece(corpus, vocab_size=1024)
keras.utils.set_random_seed(0)
m = BertModel(
    "mini-6l-128h",
    num_hidden_layers=L,
    hidden_size=H,
    intermediate_size=4 * H,
    vocab_size=len(tok),
    mlm_head=True,
    use_pooler=False,
    hidden_dropout_prob=DROPOUT,
    attention_probs_dropout_prob=DROPOUT,
)
t = time.time()
h = pretrain_mlm(
    m,
    encode(tok, corpus, max_length=32),
    tok,
    epochs=E,
    verbose=0,
    learning_rate=float(sys.argv[4]),
)
print("pretrain", h["loss"], round(time.time() - t), flush=True)


def probe(texts):
    x = encode(tok, texts, max_length=16)
    out = np.asarray(m.predict(x, verbose=0)["mlm_logits"])
    pos = (x["token_ids"] == tok.mask_token_id).argmax(1)
    return out[np.arange(len(texts)), pos]


adjs = _POSITIVE + _NEGATIVE
lg = probe([f"the film was {a} so i [MASK] it" for a in adjs])
v = tok.get_vocab()
pos_ids = [v[w] for w in ("loved", "enjoyed", "liked")]
neg_ids = [v[w] for w in ("hated", "disliked")]
ok = 0
for a, l in zip(adjs, lg, strict=True):
    p = np.exp(l - l.max())
    p /= p.sum()
    s = p[pos_ids].sum() - p[neg_ids].sum()
    right = (s > 0) == (a in _POSITIVE)
    ok += right
    print(a, "HELD" if a in HELD_OUT_WORDS else "", round(float(s), 2), "ok" if right else "WRONG")
print("polarity", ok, "/", len(adjs))
nouns = sorted(_HYPERNYM)
article = {n: "an" if n[0] in "aeiou" else "a" for n in nouns}
lg = probe([f"{article[n]} {n} is a kind of [MASK]" for n in nouns])
inv = {i: w for w, i in v.items()}
ok = exact = 0
for n, l in zip(nouns, lg, strict=True):
    top = inv[int(l.argmax())]
    ok += top in _ancestors(n)
    exact += top == _HYPERNYM[n]
    print(n, "HELD" if n in HELD_OUT_WORDS else "", top, _HYPERNYM[n])
print("hypernym: an ancestor", ok, "/", len(nouns), "; the direct parent", exact)

"""Embedded offline tasks: generated from a small grammar, deterministically from a seed.

kdzoo must do its whole job without a network, so it carries tasks of its own. They
are written by code, not shipped as data, from a lexicon and a handful of rules whose
labels follow from a small piece of logic. Each task targets phenomena on which
students of different kinds differ:

- ``synth-nli`` (three-way NLI, the labels and their order as in MNLI): a premise
  ``[quantifier] [noun] [did not]? [verb] the [noun]`` and a hypothesis derived from it
  by one edit whose label the rules determine:

  * **hypernyms** and **quantifier monotonicity**: "some dog chased the cat" entails
    "some animal chased the cat", but "every dog ..." does not entail "every animal
    ..."; "every animal ..." entails "every dog ...";
  * **negation and its scope**: "the dog chased the cat" contradicts "the dog did not
    chase the cat"; "the dog chased the cat" entails "the dog chased the animal", but
    "the dog did not chase the cat" does not entail "the dog did not chase the animal"
    (negation reverses the object's monotonicity);
  * **quantifiers**: every ⇒ some; some ⇏ every; no contradicts some;
  * **word order and role swaps**: "the dog chased the cat" vs "the cat chased the
    dog" is neutral, although both hold the same words.

  Every hypothesis comes with three premises, one of each label, so that the
  hypothesis alone says nothing about the label (MNLI's hypotheses do: a classifier
  that reads them alone gets 53 % right, Gururangan et al. 2018).

- ``synth-sentiment`` (binary): evaluative sentences whose polarity depends on
  negation ("the plot was not dull"), embedding under negated or quantified attitudes
  ("nobody thought that the film was boring"), and the order of contrast clauses
  ("X but Y" follows Y, "X although Y" follows X).

Both come with train / dev / test splits, POS tags for every token (for Tang et al.'s
POS-guided replacement) and an unlabelled corpus from the same grammar
(:func:`embedded_corpus`) for general distillation, MLM pre-training and a word2vec
stand-in for GloVe.

Calibration (measured: both conditions on synth-sentiment, the first on synth-nli)
-----------------------------------------------------------------------------------
The tasks should leave a gap for distillation to close: a TinyBERT-shaped student
trained on the labels alone at least 5 points below the teacher, a BiLSTM further
below. ``benchmarks/calibrate_embedded.py`` measures it with the teacher recipes of
:data:`kdzoo.teachers.RECIPES` (``mini-6l-128h`` pre-trained with MLM on 12,000 corpus
sentences for 4 epochs, then fine-tuned on the 6,000 training labels: 5 epochs at 3e-4
for synth-sentiment, 8 at 5e-4 without dropout for synth-nli) and students trained from
scratch on the same labels as ``kdzoo.compare``'s ``student-only`` rows at the
``small`` budget (3 epochs, AdamW at 1e-3, batch 32; BiLSTM ``tang-mini``). Results in
``benchmarks/results/calibrate_embedded-torch.json`` (torch, 2 CPUs, student seeds 0,
1, 2)::

    dev accuracy                  synth-sentiment   synth-nli
    teacher mini-6l-128h          0.953             0.771
    student mini-2l-64h, labels   0.894 ± 0.036     0.582 ± 0.042
    student BiLSTM, labels        0.764 ± 0.023     0.756 ± 0.005
    BiLSTM, hypothesis alone      -                 0.333 ± 0.000 (chance 0.333)

    synth-sentiment by what the labels never showed (seen / combination / word):
    teacher                       0.996 / 0.995 / 0.58
    student mini-2l-64h           0.932 / 0.926 / 0.59
    student BiLSTM                0.984 / 0.534 / 0.59

On synth-sentiment both conditions hold: the teacher leads the transformer student by
5.9 points (per seed 9.7, 5.4 and 2.5: the student varies a lot between seeds), and
the BiLSTM is 13 points below the student. The derived adjectives do it: the
transformer student composes a held-out combination from pieces that training showed
("joy" in "joyful", "##some" in "gloomsome" → "joysome" positive), while the word-level
BiLSTM meets an untrained word and guesses. The teacher's lead comes from learning the
rules better from the same labels, not from the held-out words: on those it guesses
too (0.58), so the corpus's statements of their polarity do not reach its classifier.

On synth-nli the first condition holds (the teacher leads the transformer student by
19 points) and the second does not: the siamese BiLSTM is 17 points above that
student and 1.5 below the teacher. Its features ``[u, v, u·v, |u−v|]`` compare two
one-edit clauses almost directly, while a transformer trained from scratch learns to
align the hypothesis with the right premise clause slowly (the student confuses a
repeated clause with one whose verb differs: identity 0.60, verb or noun changes 0.30,
at 3 epochs and at 6), and word order more slowly still: trained on the one-clause
pairs alone it gets no role swap right after 9 epochs and 0.21 after 30, where the
BiLSTM gets 0.92. A hypothesis-only BiLSTM scores chance, as it must: every
hypothesis comes with one premise of each label. Before that construction (labels
balanced by rejection sampling) it scored 0.61 and the teacher, at 0.774, was little
more than a hypothesis-only model (identity 0.25); the data change took the teacher
to 0.702, and the recipe without dropout to 0.771.

The teacher builds in about 3 to 5 minutes on 2 CPUs (pre-training 96 s, shared by
both tasks; fine-tuning 62 s for synth-sentiment, about 200 s for synth-nli), down from
about 9 with the earlier recipe (20,000 sentences, 8 epochs, every word whole).

Book chapter: ``book/tasks/embedded.md``.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from kdzoo.data.base import Split, TaskData, TaskSpec, register_task

__all__ = [
    "EMBEDDED_TASKS",
    "HELD_OUT_COMBINATIONS",
    "HELD_OUT_WORDS",
    "WORD_PIECES",
    "embedded_corpus",
    "held_out",
    "load_embedded",
]

# --------------------------------------------------------------------------- lexicon

# hypernym chains: word -> its parent category
_HYPERNYM = {
    "dog": "mammal",
    "cat": "mammal",
    "horse": "mammal",
    "rabbit": "mammal",
    "sparrow": "bird",
    "eagle": "bird",
    "parrot": "bird",
    "owl": "bird",
    "salmon": "fish",
    "shark": "fish",
    "trout": "fish",
    "mammal": "animal",
    "bird": "animal",
    "fish": "animal",
    "farmer": "person",
    "teacher": "person",
    "doctor": "person",
    "child": "person",
    "pilot": "person",
    "baker": "person",
}
_NOUNS = [*sorted(_HYPERNYM), "animal", "person"]
_VERBS = {  # past tense -> base form (after "did not")
    "chased": "chase",
    "saw": "see",
    "fed": "feed",
    "followed": "follow",
    "greeted": "greet",
    "watched": "watch",
    "ignored": "ignore",
    "helped": "help",
    "found": "find",
    "called": "call",
}
_QUANTIFIERS = ("the", "some", "every", "no")

# Words that no labelled training example contains. Dev, test and the unlabelled corpus
# use them freely, so a model knows them only if it learned them from the corpus (as a
# pre-trained teacher did) or from a teacher (through distillation on the corpus or on
# augmented data). ``meta["held_out"]`` says which examples contain one (see held_out).
HELD_OUT_WORDS = frozenset(
    {
        # one noun per category
        "rabbit",
        "owl",
        "trout",
        "pilot",
        # sentiment adjectives, three of each polarity
        "gripping",
        "brilliant",
        "warm",
        "tedious",
        "bland",
        "clumsy",
    }
)


def held_out(*texts: str) -> str:
    """What the labelled training split never shows in ``texts``: ``"word"`` (a word
    of :data:`HELD_OUT_WORDS`), ``"combination"`` (a derived adjective of
    :data:`HELD_OUT_COMBINATIONS`, whose pieces it does show) or ``"seen"``."""
    words = {w for t in texts for w in t.split()}
    if words & HELD_OUT_WORDS:
        return "word"
    return "combination" if words & HELD_OUT_COMBINATIONS else "seen"


@functools.cache
def _ancestors(noun: str) -> tuple[str, ...]:
    out = []
    while noun in _HYPERNYM:
        noun = _HYPERNYM[noun]
        out.append(noun)
    return tuple(out)


def _descendants(noun: str) -> list[str]:
    return [n for n in _NOUNS if noun in _ancestors(n)]


# --------------------------------------------------------------------------- NLI


@dataclass(frozen=True)
class _Clause:
    quantifier: str  # of the subject
    subject: str
    negated: bool
    verb: str  # past tense
    obj: str

    def text(self) -> str:
        verb = f"did not {_VERBS[self.verb]}" if self.negated else self.verb
        return f"{self.quantifier} {self.subject} {verb} the {self.obj}"

    def tags(self) -> list[str]:
        verb = ["AUX", "PART", "VERB"] if self.negated else ["VERB"]
        return ["DET", "NOUN", *verb, "DET", "NOUN"]


ENTAILMENT, NEUTRAL, CONTRADICTION = 0, 1, 2
# (premise quantifier, hypothesis quantifier) -> label, for clauses that differ in it alone
_QUANTIFIER_PAIRS = {
    ("every", "some"): ENTAILMENT,
    ("the", "some"): ENTAILMENT,
    ("some", "every"): NEUTRAL,
    ("some", "the"): NEUTRAL,
    ("some", "no"): CONTRADICTION,
    ("no", "some"): CONTRADICTION,
    ("every", "no"): CONTRADICTION,
    ("the", "no"): CONTRADICTION,
    ("no", "every"): CONTRADICTION,
}


def _random_clause(rng: np.random.Generator) -> _Clause:
    """A clause with two different nouns; negated three times in ten."""
    subject, obj = rng.choice(_NOUNS, 2, replace=False)
    return _Clause(
        str(rng.choice(_QUANTIFIERS)),
        str(subject),
        bool(rng.random() < 0.3),
        str(rng.choice(list(_VERBS))),
        str(obj),
    )


def _nli_pair(rng: np.random.Generator) -> tuple[_Clause, _Clause, int, str]:
    """One (premise, hypothesis, label, phenomenon) drawn from the rules below."""
    p = _random_clause(rng)
    rule = rng.choice(
        [
            "subj_up",
            "subj_down",
            "negation",
            "quantifier",
            "swap",
            "obj_scope",
            "other_obj",
            "other_verb",
            "copy",
        ],
        p=[0.14, 0.14, 0.12, 0.14, 0.12, 0.14, 0.08, 0.06, 0.06],
    )
    up = {"the": True, "some": True, "every": False, "no": False}  # subject monotonicity
    if rule in ("subj_up", "subj_down"):
        options = _ancestors(p.subject) if rule == "subj_up" else _descendants(p.subject)
        options = [n for n in options if n != p.obj]
        if not options or p.negated:
            return _nli_pair(rng)
        h = dataclasses.replace(p, subject=str(rng.choice(options)))
        # Upward-monotone subject positions (the, some) license hypernyms; downward
        # ones (every, no) license hyponyms.
        licensed = up[p.quantifier] == (rule == "subj_up")
        return p, h, ENTAILMENT if licensed else NEUTRAL, "hypernym_quantifier"
    if rule == "negation":
        if p.quantifier == "no":
            return _nli_pair(rng)
        h = dataclasses.replace(p, negated=not p.negated)
        # "the/every X did V" vs "the/every X did not V" cannot both hold;
        # "some X did V" and "some X did not V" can.
        return p, h, NEUTRAL if p.quantifier == "some" else CONTRADICTION, "negation"
    if rule == "quantifier":
        if p.negated:
            return _nli_pair(rng)
        options = [(a, b) for (a, b) in _QUANTIFIER_PAIRS if a == p.quantifier]
        _, q = options[rng.integers(len(options))]
        return (
            p,
            dataclasses.replace(p, quantifier=q),
            _QUANTIFIER_PAIRS[(p.quantifier, q)],
            "quantifier",
        )
    if rule == "swap":
        if p.quantifier != "the":
            p = dataclasses.replace(p, quantifier="the")
        return p, dataclasses.replace(p, subject=p.obj, obj=p.subject), NEUTRAL, "role_swap"
    if rule == "obj_scope":
        # The object of "the X did V the Y" is upward monotone; negation flips it.
        go_up = bool(rng.random() < 0.5)
        options = _ancestors(p.obj) if go_up else _descendants(p.obj)
        options = [n for n in options if n != p.subject]
        if not options or p.quantifier not in ("the", "some"):
            return _nli_pair(rng)
        h = dataclasses.replace(p, obj=str(rng.choice(options)))
        licensed = go_up != p.negated
        return p, h, ENTAILMENT if licensed else NEUTRAL, "negation_scope"
    if rule == "other_obj":
        others = [
            n
            for n in _NOUNS
            if n not in (p.obj, p.subject)
            and n not in _ancestors(p.obj)
            and n not in _descendants(p.obj)
        ]
        return p, dataclasses.replace(p, obj=str(rng.choice(others))), NEUTRAL, "lexical"
    if rule == "other_verb":
        others = [v for v in _VERBS if v != p.verb]
        return p, dataclasses.replace(p, verb=str(rng.choice(others))), NEUTRAL, "lexical"
    return p, p, ENTAILMENT, "identity"


def _related(a: str, b: str) -> bool:
    return a == b or a in _ancestors(b) or b in _ancestors(a)


def _distractor(rng: np.random.Generator, p: _Clause, h: _Clause) -> _Clause | None:
    """A clause that cannot bear on the hypothesis ``h``, to hide the premise clause ``p``.

    Two kinds, half each: a clause about nouns unrelated to any noun of ``p`` and ``h``
    (None when nearly every noun is related, e.g. both "animal" and "person" occur);
    or a clause that reuses their nouns, in any roles, with a verb that is neither
    ``p``'s nor ``h``'s. Verbs are independent predicates in this grammar, so the
    second kind leaves the label unchanged, yet a model that compares bags of words,
    or one pooled vector per sentence, sees the hypothesis's nouns in the premise
    bound to the wrong verb.
    """
    quantifier = str(rng.choice(("the", "some", "every")))
    negated = bool(rng.random() < 0.3)
    if rng.random() < 0.5:
        shared = sorted({p.subject, p.obj, h.subject, h.obj})
        subject, obj = rng.choice(shared, 2, replace=False)
        verb = rng.choice([v for v in _VERBS if v not in (p.verb, h.verb)])
        return _Clause(quantifier, str(subject), negated, str(verb), str(obj))
    avoid = {p.subject, p.obj, h.subject, h.obj}
    free = [n for n in _NOUNS if not any(_related(n, a) for a in avoid)]
    if len(free) < 2:
        return None
    subject, obj = rng.choice(free, 2, replace=False)
    return _Clause(quantifier, str(subject), negated, str(rng.choice(list(_VERBS))), str(obj))


def _label(p: _Clause, h: _Clause) -> tuple[int, str] | None:
    """The label of premise clause ``p`` against hypothesis ``h``, and the rule that
    decides it, for the one-edit pairs the grammar covers (None for any other pair).

    The same logic as :func:`_nli_pair`, read from the pair instead of applied to a
    premise: the splits choose premises for a given hypothesis with it.
    """
    up = {"the": True, "some": True, "every": False, "no": False}  # subject monotonicity
    fields = ("quantifier", "subject", "negated", "verb", "obj")
    diff = {f for f in fields if getattr(p, f) != getattr(h, f)}
    if not diff:
        return ENTAILMENT, "identity"
    if diff == {"subject"}:
        if p.negated or h.subject == p.obj:
            return None
        if h.subject in _ancestors(p.subject):  # a category in the hypothesis
            return (ENTAILMENT if up[p.quantifier] else NEUTRAL), "hypernym_quantifier"
        if p.subject in _ancestors(h.subject):  # a member in the hypothesis
            return (NEUTRAL if up[p.quantifier] else ENTAILMENT), "hypernym_quantifier"
        return None
    if diff == {"negated"}:
        if p.quantifier == "no":
            return None
        return (NEUTRAL if p.quantifier == "some" else CONTRADICTION), "negation"
    if diff == {"quantifier"}:
        if p.negated or (p.quantifier, h.quantifier) not in _QUANTIFIER_PAIRS:
            return None
        return _QUANTIFIER_PAIRS[(p.quantifier, h.quantifier)], "quantifier"
    if diff == {"subject", "obj"}:
        swapped = (h.subject, h.obj) == (p.obj, p.subject)
        return (NEUTRAL, "role_swap") if swapped and p.quantifier == "the" else None
    if diff == {"obj"}:
        if h.obj == p.subject:
            return None
        if _related(p.obj, h.obj):
            if p.quantifier not in ("the", "some"):
                return None
            go_up = h.obj in _ancestors(p.obj)
            return (ENTAILMENT if go_up != p.negated else NEUTRAL), "negation_scope"
        return NEUTRAL, "lexical"
    if diff == {"verb"}:
        return NEUTRAL, "lexical"
    return None


def _one_edits(h: _Clause) -> list[_Clause]:
    """Every clause one edit away from ``h`` (and ``h`` itself)."""
    q, s, neg, v, o = h.quantifier, h.subject, h.negated, h.verb, h.obj
    out = [h, _Clause(q, s, not neg, v, o), _Clause("the", o, neg, v, s)]
    out += [_Clause(other, s, neg, v, o) for other in _QUANTIFIERS if other != q]
    out += [_Clause(q, s, neg, other, o) for other in _VERBS if other != v]
    for n in _NOUNS:
        if n not in (s, o):
            out += [_Clause(q, n, neg, v, o), _Clause(q, s, neg, v, n)]
    return out


@functools.lru_cache(maxsize=1 << 15)  # a split's hypotheses, again when reloaded
def _premises_by_label(h: _Clause) -> dict[int, dict[str, tuple[_Clause, ...]]]:
    """label -> phenomenon -> the premise clauses one edit from ``h`` that give it that
    label."""
    out: dict[int, dict[str, list]] = {}
    for p in _one_edits(h):
        found = _label(p, h)
        if found is not None:
            out.setdefault(found[0], {}).setdefault(found[1], []).append(p)
    return {y: {k: tuple(v) for k, v in rules.items()} for y, rules in out.items()}


# How often each rule is drawn, relative to the others that can give the label in
# question: identity can give every hypothesis its entailment and role swaps only
# hypotheses with "the", so without weights they would be 20 % and 3 % of the pairs.
_RULE_WEIGHT = {"identity": 0.4, "role_swap": 3.0, "negation_scope": 1.5}


def _nli_split(
    n: int, rng: np.random.Generator, exclude=frozenset(), labelled_train: bool = False
) -> Split:
    """``n`` pairs, in threes that share a hypothesis: one premise of each label.

    Each hypothesis comes with an entailing, a neutral and a contradicting premise
    clause, so the hypothesis alone says nothing about the label (a model must compare
    the two sentences). For each label, the rule is drawn from those that can give it
    (weighted by ``_RULE_WEIGHT``), then a premise clause from the rule's options (see
    :func:`_label`).

    The premise gets zero to two more clauses (uniformly) joined by "and" that
    cannot bear on the hypothesis (see :func:`_distractor`), so the label still follows
    from the one clause the hypothesis was derived from; a model must find that clause
    in a longer premise.
    """
    premises, hypotheses, labels, p_tags, h_tags = [], [], [], [], []
    meta = {"phenomenon": [], "premise_clause": [], "held_out": []}

    # Only nouns are ever held out of this grammar's clauses (see held_out).
    held = HELD_OUT_WORDS | HELD_OUT_COMBINATIONS

    def seen(*clauses: _Clause) -> bool:
        return not labelled_train or not any({c.subject, c.obj} & held for c in clauses)

    while len(labels) < n:
        h = _random_clause(rng)
        if not seen(h):
            continue
        options = {
            y: {k: [p for p in ps if seen(p)] for k, ps in rules.items()}
            for y, rules in _premises_by_label(h).items()
        }
        options = {y: {k: ps for k, ps in r.items() if ps} for y, r in options.items()}
        if sum(bool(r) for r in options.values()) < 3:
            continue
        for label in (ENTAILMENT, NEUTRAL, CONTRADICTION):
            rules = sorted(options[label])
            weights = np.array([_RULE_WEIGHT.get(k, 1.0) for k in rules])
            phenomenon = rules[rng.choice(len(rules), p=weights / weights.sum())]
            candidates = options[label][phenomenon]
            p = candidates[rng.integers(len(candidates))]
            while True:
                clauses = [p]
                for _ in range(rng.integers(0, 3)):
                    extra = _distractor(rng, p, h)
                    if extra is not None and extra not in clauses:
                        clauses.insert(int(rng.integers(len(clauses) + 1)), extra)
                if seen(*clauses):
                    break
            text = " and ".join(c.text() for c in clauses)
            if (text, h.text()) in exclude or len(labels) == n:
                continue
            tags = []
            for i, c in enumerate(clauses):
                tags += (["CCONJ"] if i else []) + c.tags()
            premises.append(text)
            hypotheses.append(h.text())
            p_tags.append(tags)
            h_tags.append(h.tags())
            labels.append(label)
            meta["phenomenon"].append(phenomenon)
            meta["premise_clause"].append(p.text())
            meta["held_out"].append(held_out(text, h.text()))
    return Split(
        texts={"premise": premises, "hypothesis": hypotheses},
        labels=np.asarray(labels, np.int32),
        pos_tags={"premise": p_tags, "hypothesis": h_tags},
        meta=meta,
    )


# --------------------------------------------------------------------------- sentiment

_TOPICS = [
    "the film",
    "the plot",
    "the acting",
    "the ending",
    "the script",
    "the music",
    "the cast",
    "the story",
    "the dialogue",
    "the camera work",
]
_PLAIN_POSITIVE = [
    "good",
    "great",
    "moving",
    "charming",
    "clever",
    "sharp",
    "gripping",
    "warm",
    "funny",
    "brilliant",
]
_PLAIN_NEGATIVE = [
    "bad",
    "dull",
    "boring",
    "awful",
    "clumsy",
    "tedious",
    "flat",
    "silly",
    "messy",
    "bland",
]
# Derived adjectives: a root, whose polarity the adjective keeps, and a suffix that
# carries none ("joy" + "some" = "joysome", positive). The teachers' WordPiece
# vocabulary splits them into pieces ("joy", "##some"), as BERT's splits rare words;
# a word-level model (the BiLSTM) sees each as a word of its own.
_ROOTS = {  # root -> positive?
    "joy": True,
    "charm": True,
    "grace": True,
    "zest": True,
    "bliss": True,
    "glee": True,
    "gloom": False,
    "dread": False,
    "grime": False,
    "murk": False,
    "drab": False,
    "bleak": False,
}
_SUFFIXES = ("ful", "some", "ish", "ly", "ous")

#: Each derived adjective and its WordPiece pieces, e.g. "joysome" → ("joy", "##some"):
#: :func:`kdzoo.tokenization.lexicon_wordpiece` builds the teachers' vocabulary so.
WORD_PIECES = {r + s: (r, f"##{s}") for r in _ROOTS for s in _SUFFIXES}

#: The derived adjectives that no labelled training example contains: two suffixes
#: per root, so that training shows every root and every suffix, but not these pairs.
#: A subword model can compose them from their pieces; a word-level one cannot.
HELD_OUT_COMBINATIONS = frozenset(
    root + _SUFFIXES[(i + k) % len(_SUFFIXES)] for i, root in enumerate(_ROOTS) for k in (0, 1)
)
_POSITIVE = _PLAIN_POSITIVE + [r + s for r, pos in _ROOTS.items() if pos for s in _SUFFIXES]
_NEGATIVE = _PLAIN_NEGATIVE + [r + s for r, pos in _ROOTS.items() if not pos for s in _SUFFIXES]
_DEGREE = ["", "very ", "really ", "quite ", "rather "]
# attitude frames: (text, whether it flips the embedded polarity)
_FRAMES = [
    ("everyone agreed that", False),
    ("critics said that", False),
    ("i think that", False),
    ("nobody thought that", True),
    ("i do not think that", True),
    ("no critic said that", True),
]


def _evaluation(rng) -> tuple[str, list[str], int]:
    positive = bool(rng.random() < 0.5)
    negated = bool(rng.random() < 0.35)
    adjective = str(rng.choice(_POSITIVE if positive else _NEGATIVE))
    degree = str(rng.choice(_DEGREE))
    topic = str(rng.choice(_TOPICS))
    words = [*topic.split(), "was", *(["not"] if negated else []), *degree.split(), adjective]
    tags = [
        "DET",
        *["NOUN"] * (len(topic.split()) - 1),
        "VERB",
        *(["PART"] if negated else []),
        *(["ADV"] if degree else []),
        "ADJ",
    ]
    return " ".join(words), tags, int(positive != negated)


def _sentiment_sentence(rng) -> tuple[str, list[str], int, str]:
    text, tags, label = _evaluation(rng)
    roll = rng.random()
    if roll < 0.3:
        frame, flips = _FRAMES[rng.integers(len(_FRAMES))]
        ftags = {
            "everyone": "PRON",
            "critics": "NOUN",
            "i": "PRON",
            "nobody": "PRON",
            "no": "DET",
            "critic": "NOUN",
            "agreed": "VERB",
            "said": "VERB",
            "think": "VERB",
            "thought": "VERB",
            "do": "AUX",
            "not": "PART",
            "that": "SCONJ",
        }
        return (
            f"{frame} {text}",
            [ftags[w] for w in frame.split()] + tags,
            int(label != flips),
            "embedding",
        )
    if roll < 0.6:
        text2, tags2, label2 = _evaluation(rng)
        if rng.random() < 0.5:  # "X but Y": Y decides
            return f"{text} but {text2}", [*tags, "CCONJ", *tags2], label2, "but"
        return f"{text} although {text2}", [*tags, "SCONJ", *tags2], label, "although"
    return text, tags, label, "negation" if "not" in text.split() else "plain"


def _sentiment_split(n: int, rng, exclude=frozenset(), labelled_train: bool = False) -> Split:
    texts, tags, labels, phenomena = [], [], [], []
    while len(labels) < n:
        t, g, y, ph = _sentiment_sentence(rng)
        if (t,) in exclude or (labelled_train and held_out(t) != "seen"):
            continue
        texts.append(t)
        tags.append(g)
        labels.append(y)
        phenomena.append(ph)
    return Split(
        texts={"sentence": texts},
        labels=np.asarray(labels, np.int32),
        pos_tags={"sentence": tags},
        meta={
            "phenomenon": phenomena,
            "held_out": [held_out(t) for t in texts],
        },
    )


# --------------------------------------------------------------------------- registry

EMBEDDED_TASKS = {
    "synth-nli": TaskSpec(
        name="synth-nli",
        text_fields=("premise", "hypothesis"),
        label_names=("entailment", "neutral", "contradiction"),
        metrics=("accuracy",),
        description="Generated NLI: hypernyms, quantifiers, negation scope, role swaps.",
        source="embedded",
    ),
    "synth-sentiment": TaskSpec(
        name="synth-sentiment",
        text_fields=("sentence",),
        label_names=("negative", "positive"),
        metrics=("accuracy",),
        description="Generated sentiment: negation, negated attitudes, but / although.",
        source="embedded",
    ),
}
_GENERATORS = {"synth-nli": _nli_split, "synth-sentiment": _sentiment_split}
_SIZES = {"train": 6000, "dev": 1000, "test": 1000}


def load_embedded(
    spec: TaskSpec | str,
    *,
    seed: int = 0,
    train_size: int = _SIZES["train"],
    dev_size: int = _SIZES["dev"],
    test_size: int = _SIZES["test"],
    max_train_examples: int | None = None,
    max_eval_examples: int | None = None,
) -> TaskData:
    """Generate an embedded task. The same seed gives the same data on every machine.

    Each split is drawn from its own random stream (derived from ``seed`` and the split
    name). Dev and test hold no example that is also in train, so they measure
    generalisation, not recall. ``split.meta["phenomenon"]`` names the rule behind each
    example (and, for synth-nli, ``meta["premise_clause"]`` the clause of the premise the
    hypothesis was derived from).
    """
    spec = EMBEDDED_TASKS[spec] if isinstance(spec, str) else spec
    generate = _GENERATORS[spec.name]
    sizes = {"train": train_size, "dev": dev_size, "test": test_size}
    splits, seen = {}, frozenset()
    for i, (name, size) in enumerate(sizes.items()):
        rng = np.random.default_rng([seed, i, len(spec.name)])
        splits[name] = generate(size, rng, exclude=seen, labelled_train=name == "train")
        if name == "train":
            seen = frozenset(zip(*(splits[name].texts[f] for f in spec.text_fields), strict=True))
    splits["train"] = splits["train"].subset(max_train_examples, seed)
    for name in ("dev", "test"):
        splits[name] = splits[name].subset(max_eval_examples, seed)
    return TaskData(spec=spec, splits=splits, info={"source": "embedded", "seed": seed})


def _taxonomy_sentence(rng: np.random.Generator) -> str:
    """A statement of the hypernym hierarchy, e.g. "every trout is a fish"."""
    noun = str(rng.choice(sorted(_HYPERNYM)))
    parent = str(rng.choice(_ancestors(noun)))
    article = "an" if parent[0] in "aeiou" else "a"
    frames = (
        f"every {noun} is {article} {parent}",
        f"the {noun} is {article} {parent}",
        f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} is a kind of {parent}",
    )
    return frames[rng.integers(len(frames))]


def _reaction_sentence(rng: np.random.Generator, avoid: frozenset[str] = frozenset()) -> str:
    """An evaluation with the speaker's reaction, e.g. "the plot was bland so i hated
    it": the distributional evidence of an adjective's polarity that the corpus offers.
    A reaction is never attached to a text in ``avoid`` (the evaluation examples)."""
    positive = bool(rng.random() < 0.5)
    pool = _POSITIVE if positive else _NEGATIVE
    first, second = (str(a) for a in rng.choice(pool, 2, replace=False))
    topic = str(rng.choice(_TOPICS))
    verb = str(rng.choice(("loved", "enjoyed", "liked") if positive else ("hated", "disliked")))
    if rng.random() < 0.5 and f"{topic} was {first}" not in avoid:
        return f"{topic} was {first} so i {verb} it"
    return f"{topic} was {first} and {second}"


@functools.lru_cache(maxsize=1)
def _evaluation_texts() -> frozenset[str]:
    """The dev and test texts of both tasks at their default seed and sizes."""
    out = set()
    for name in EMBEDDED_TASKS:
        data = load_embedded(name)
        for split in ("dev", "test"):
            columns = [data[split].texts[f] for f in data.spec.text_fields]
            out.update(" ".join(parts) for parts in zip(*columns, strict=True))
    return frozenset(out)


def embedded_corpus(n: int = 20000, seed: int = 0) -> list[str]:
    """Unlabelled sentences from both grammars, for general distillation, MLM
    pre-training and training a word2vec stand-in for GloVe.

    - 30 % NLI-grammar sentences: one to three clauses, as in premises; a third of the
      entailed pairs are written out as an inference, "the trout chased the dog so the
      fish chased the dog".
    - 20 % sentiment-grammar sentences; half end with the speaker's reaction, "the plot
      was not bland so i liked it", as reviews end with a verdict.
    - 25 % state the hypernym hierarchy ("every trout is a fish").
    - 25 % show an adjective's polarity by its company ("the plot was bland so i hated
      it", "the film was warm and clever").

    The knowledge covers every word, the held-out words (:data:`HELD_OUT_WORDS`) and
    combinations (:data:`HELD_OUT_COMBINATIONS`) included: it is what a teacher
    pre-trained on the corpus brings to the few labelled examples, and what a student
    trained on the labels alone lacks. No sentence written
    with its verdict or inference is a dev or test example of either task (at the
    default seed and sizes), so the corpus leaks no evaluation label.

    Why so much knowledge: a small MLM learns local syntax first, and the associations
    across a sentence (adjective → reaction, noun → hypernym) only after many
    exposures. With 15 % of knowledge sentences a 2-layer MLM had still not linked an
    adjective to the reaction after 12 epochs. With this mix but without the verdicts
    and inferences, ``mini-6l-128h`` did within 8 epochs (``benchmarks/probe_mlm.py``:
    polarity 20/20, a hypernym 20/20). With the verdicts it learned the hypernyms
    but not the polarity in 8 epochs. The teacher recipe now pre-trains for 4 epochs on
    12,000 sentences, and does not turn the corpus's knowledge of the held-out *words*
    into accuracy (see the calibration above); its lead comes from the derived
    adjectives and from learning the rules better from the same labels.
    """
    rng = np.random.default_rng([seed, 99])
    held_out = _evaluation_texts()
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.3:
            p, h, label, _ = _nli_pair(rng)
            inference = label == 0 and rng.random() < 1 / 3  # 0: entailment
            clauses = [p if inference or rng.random() < 0.5 else h]
            for _ in range(rng.integers(0, 3)):
                extra = _distractor(rng, p, h)
                if extra is not None:
                    clauses.insert(int(rng.integers(len(clauses) + 1)), extra)
            text = " and ".join(c.text() for c in clauses)
            if inference and f"{text} {h.text()}" not in held_out:
                text = f"{text} so {h.text()}"
            out.append(text)
        elif roll < 0.5:
            text, _, label, _ = _sentiment_sentence(rng)
            if rng.random() < 0.5 and text not in held_out:
                verbs = ("loved", "enjoyed", "liked") if label else ("hated", "disliked")
                text = f"{text} so i {rng.choice(verbs)} it"
            out.append(text)
        elif roll < 0.75:
            out.append(_taxonomy_sentence(rng))
        else:
            out.append(_reaction_sentence(rng, held_out))
    return out


for _spec in EMBEDDED_TASKS.values():
    register_task(_spec, load_embedded)

"""The embedded offline tasks: deterministic, balanced, held-out dev/test, tagged, and
labelled by the rules their docstring states (restated here independently)."""

from __future__ import annotations

import numpy as np
import pytest

import kdzoo
from kdzoo.data.embedded import embedded_corpus, load_embedded

pytestmark = pytest.mark.no_backend  # runs no Keras code: tested in the torch env only

NLI = load_embedded("synth-nli", train_size=1500, dev_size=300, test_size=300)
SENT = load_embedded("synth-sentiment", train_size=1500, dev_size=300, test_size=300)


def test_listed_and_loadable_by_name():
    assert {"synth-nli", "synth-sentiment"} <= set(kdzoo.tasks())
    data = kdzoo.load_task("synth-nli", train_size=50, dev_size=10, test_size=10)
    assert data.spec.label_names == ("entailment", "neutral", "contradiction")  # MNLI order
    assert len(data["train"]) == 50


@pytest.mark.parametrize("data", [NLI, SENT], ids=["nli", "sentiment"])
def test_deterministic_and_seed_dependent(data):
    name = data.spec.name
    again = load_embedded(name, train_size=1500, dev_size=300, test_size=300)
    assert again["train"].texts == data["train"].texts
    np.testing.assert_array_equal(again["dev"].labels, data["dev"].labels)
    other = load_embedded(name, seed=1, train_size=1500, dev_size=300, test_size=300)
    assert other["train"].texts != data["train"].texts


@pytest.mark.parametrize("data", [NLI, SENT], ids=["nli", "sentiment"])
def test_balanced_held_out_and_tagged(data):
    spec = data.spec
    counts = np.bincount(data["train"].labels, minlength=spec.num_labels)
    assert counts.min() > 0.8 * len(data["train"]) / spec.num_labels
    train = set(zip(*(data["train"].texts[f] for f in spec.text_fields), strict=True))
    for split in ("dev", "test"):
        rows = zip(*(data[split].texts[f] for f in spec.text_fields), strict=True)
        assert not train & set(rows), f"{split} repeats training examples"
    for split in data.splits.values():
        for field in spec.text_fields:
            for text, tags in zip(split.texts[field], split.pos_tags[field], strict=True):
                assert len(text.split()) == len(tags), (text, tags)


def nli_rows(phenomenon):
    """(premise clause the hypothesis came from, hypothesis, label) for one phenomenon."""
    split = NLI["train"]
    rows = zip(
        split.meta["premise_clause"],
        split.texts["hypothesis"],
        split.labels,
        split.meta["phenomenon"],
        strict=True,
    )
    return [(p, h, NLI.spec.label_names[y]) for p, h, y, k in rows if k == phenomenon]


def test_role_swap_is_neutral_with_the_same_words():
    rows = nli_rows("role_swap")
    assert rows
    for p, h, label in rows:
        assert sorted(p.split()) == sorted(h.split()) and p != h and label == "neutral"


def test_negation_contradicts_except_under_some():
    rows = nli_rows("negation")
    assert rows
    for p, h, label in rows:
        assert ("not" in p.split()) != ("not" in h.split())
        assert label == ("neutral" if p.startswith("some ") else "contradiction"), (p, h, label)


def test_every_hypothesis_comes_with_one_premise_of_each_label():
    """The hypothesis alone says nothing about the label (no hypothesis-only artefacts,
    which MNLI has): each is paired with an entailing, a neutral and a contradicting
    premise."""
    for split in NLI.splits.values():
        by_hypothesis = {}
        for h, y in zip(split.texts["hypothesis"], split.labels, strict=True):
            by_hypothesis.setdefault(h, []).append(int(y))
        triples = [sorted(ys) for ys in by_hypothesis.values() if len(ys) == 3]
        # dev and test drop the rare pair that training holds
        assert len(triples) * 3 >= 0.97 * len(split)
        assert all(ys == [0, 1, 2] for ys in triples)
        # the pair-level rules are all present in each split
        assert len(set(split.meta["phenomenon"])) == 7


def test_label_reads_the_rules_back_from_the_pair():
    """_label, which picks premises for a hypothesis, agrees with the rules as applied
    forward to a premise (_nli_pair, which the corpus's inferences use)."""
    from kdzoo.data.embedded import _label, _nli_pair

    rng = np.random.default_rng(3)
    for _ in range(3000):
        p, h, label, phenomenon = _nli_pair(rng)
        assert _label(p, h) == (label, phenomenon), (p.text(), h.text())


# The taxonomy, restated: category -> its members (transitively).
MEMBERS = {
    "mammal": {"dog", "cat", "horse", "rabbit"},
    "bird": {"sparrow", "eagle", "parrot", "owl"},
    "fish": {"salmon", "shark", "trout"},
    "person": {"farmer", "teacher", "doctor", "child", "pilot", "baker"},
}
MEMBERS["animal"] = (
    MEMBERS["mammal"] | MEMBERS["bird"] | MEMBERS["fish"] | {"mammal", "bird", "fish"}
)


def is_a(word, category):
    return word in MEMBERS.get(category, set())


def test_negation_reverses_object_monotonicity():
    rows = nli_rows("negation_scope")
    assert rows
    for p, h, label in rows:
        p_obj, h_obj, negated = p.split()[-1], h.split()[-1], "not" in p.split()
        if is_a(p_obj, h_obj):  # the hypothesis generalises the object
            assert label == ("neutral" if negated else "entailment"), (p, h, label)
        else:
            assert is_a(h_obj, p_obj)  # it specialises it
            assert label == ("entailment" if negated else "neutral"), (p, h, label)


def test_quantifier_monotonicity_on_the_subject():
    rows = nli_rows("hypernym_quantifier")
    assert rows
    for p, h, label in rows:
        q, p_subj, h_subj = p.split()[0], p.split()[1], h.split()[1]
        if is_a(p_subj, h_subj):  # a category in the hypothesis: upward (the, some)
            assert label == ("entailment" if q in ("the", "some") else "neutral"), (p, h)
        else:  # a member in the hypothesis: downward (every, no)
            assert is_a(h_subj, p_subj)
            assert label == ("entailment" if q in ("every", "no") else "neutral"), (p, h)


def test_sentiment_rules():
    split, ph = SENT["train"], SENT["train"].meta["phenomenon"]
    positive = {
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
    }
    positive_roots = ("joy", "charm", "grace", "zest", "bliss", "glee")  # + ful, some, ...

    def polarity(clause):
        words = clause.split()
        good = words[-1] in positive or words[-1].startswith(positive_roots)
        return int(good != ("not" in words))

    for text, y, kind in zip(split.texts["sentence"], split.labels, ph, strict=True):
        if kind == "but":
            assert y == polarity(text.split(" but ")[1])
        elif kind == "although":
            assert y == polarity(text.split(" although ")[0])
        elif kind in ("plain", "negation"):
            assert y == polarity(text)


def test_corpus():
    corpus = embedded_corpus(500)
    assert len(corpus) == 500 and corpus == embedded_corpus(500)
    assert len(set(corpus)) > 300
    words = {w for s in corpus for w in s.split()}
    assert {"dog", "animal", "not", "but"} <= words


def _verb(clause: str) -> str:
    """The verb of a clause, as its base form ("chased" and "did not chase" -> "chase")."""
    words = clause.split()
    if words[2:4] == ["did", "not"]:
        return words[4]
    return {v: b for b, v in BASE_OF.items()}.get(words[2], words[2])


# An independent restatement of the lexicon's verbs (past -> base).
BASE_OF = {
    "chase": "chased",
    "see": "saw",
    "feed": "fed",
    "follow": "followed",
    "greet": "greeted",
    "watch": "watched",
    "ignore": "ignored",
    "help": "helped",
    "find": "found",
    "call": "called",
}


def test_distractor_clauses_cannot_bear_on_the_hypothesis():
    """Every other clause of a premise either talks about unrelated nouns, or uses a verb
    that neither the hypothesis nor the clause it came from uses (verbs are independent
    predicates in the grammar), so the label follows from that one clause."""
    split = NLI["train"]
    longer = same_nouns = 0
    for premise, clause, hyp in zip(
        split.texts["premise"], split.meta["premise_clause"], split.texts["hypothesis"], strict=True
    ):
        clauses = premise.split(" and ")
        assert clause in clauses
        longer += len(clauses) > 1
        nouns = {hyp.split()[1], hyp.split()[-1], clause.split()[1], clause.split()[-1]}
        for other in clauses:
            if other == clause:
                continue
            related = [
                noun
                for noun in (other.split()[1], other.split()[-1])
                if any(noun == n or is_a(noun, n) or is_a(n, noun) for n in nouns)
            ]
            if related:
                same_nouns += 1
                assert _verb(other) not in (_verb(clause), _verb(hyp)), (premise, hyp)
    assert 0.55 < longer / len(split) < 0.75
    assert same_nouns > 0.2 * len(split)  # the harder kind is common


def test_held_out_words_never_occur_in_labelled_training_data():
    from kdzoo.data.embedded import HELD_OUT_COMBINATIONS, HELD_OUT_WORDS

    held = HELD_OUT_WORDS | HELD_OUT_COMBINATIONS
    for task in ("synth-nli", "synth-sentiment"):
        data = load_embedded(task, train_size=1500, dev_size=400, test_size=10)
        for name, split in data.splits.items():
            words = [
                {w for f in split.texts for w in split.texts[f][i].split()}
                for i in range(len(split))
            ]
            kinds = [
                "word" if w & HELD_OUT_WORDS else "combination" if w & held else "seen"
                for w in words
            ]
            assert kinds == split.meta["held_out"]
            if name == "train":
                assert set(kinds) == {"seen"}
        assert 0.3 < np.mean([k != "seen" for k in data["dev"].meta["held_out"]]) < 0.7
    corpus_words = {w for s in embedded_corpus(3000) for w in s.split()}
    assert held <= corpus_words


def test_derived_adjectives_show_every_piece_in_training_but_not_every_pairing():
    from kdzoo.data.embedded import _NEGATIVE, _POSITIVE, HELD_OUT_COMBINATIONS, WORD_PIECES
    from kdzoo.tokenization import lexicon_wordpiece

    train = load_embedded("synth-sentiment")["train"]
    seen = {w for t in train.texts["sentence"] for w in t.split()} & set(WORD_PIECES)
    assert seen == set(WORD_PIECES) - HELD_OUT_COMBINATIONS
    for piece in {p for pieces in WORD_PIECES.values() for p in pieces}:
        assert any(piece in WORD_PIECES[w] for w in seen), piece
    for word in HELD_OUT_COMBINATIONS:  # its root's other adjectives share its polarity
        root = WORD_PIECES[word][0]
        polarity = word in _POSITIVE
        assert word in _POSITIVE or word in _NEGATIVE
        assert all((w in _POSITIVE) == polarity for w in WORD_PIECES if w.startswith(root))
    tokenizer = lexicon_wordpiece(embedded_corpus(2000), WORD_PIECES)
    for word, pieces in WORD_PIECES.items():
        assert tokenizer.tokenize(word) == list(pieces)
    assert tokenizer.tokenize("the film was dull") == ["the", "film", "was", "dull"]


def test_corpus_states_hypernyms_and_polarity_of_every_word():
    from kdzoo.data.embedded import _NEGATIVE, _POSITIVE

    corpus = embedded_corpus(3000)
    taxonomy = [s for s in corpus if " is a" in s]
    for sentence in taxonomy:
        words = sentence.split()
        noun, parent = words[1], words[-1]
        assert is_a(noun, parent), sentence
    assert {s.split()[1] for s in taxonomy} >= {"trout", "owl", "rabbit", "pilot"}
    reactions = [s for s in corpus if s.endswith(" it") and len(s.split(" so i ")[0].split()) <= 5]
    reactions = [s for s in reactions if len(s.split(" so i ")[0].split(" was ")[1].split()) == 1]
    for sentence in reactions:
        adjective = sentence.split(" was ")[1].split()[0]
        liked = sentence.split(" i ")[1].split()[0] in ("loved", "enjoyed", "liked")
        assert liked == (adjective in _POSITIVE) and (adjective in _POSITIVE + _NEGATIVE)
    assert len(reactions) > 150


def _polarity(clause: str) -> int:
    from kdzoo.data.embedded import _POSITIVE

    words = clause.split()
    return int((words[-1] in _POSITIVE) != ("not" in words))


def test_corpus_verdicts_and_inferences_are_right_and_leak_no_evaluation_example():
    corpus = embedded_corpus(4000)
    evaluation = {
        name: {
            tuple(parts)
            for split in ("dev", "test")
            for parts in zip(*kdzoo.load_task(name)[split].texts.values(), strict=True)
        }
        for name in ("synth-sentiment", "synth-nli")
    }
    # Reviews with a verdict: the verdict follows the sentiment rules.
    verdicts = [s.split(" so i ") for s in corpus if " so i " in s]
    checked = 0
    for review, verdict in verdicts:
        liked = int(verdict.split()[0] in ("loved", "enjoyed", "liked"))
        assert (review,) not in evaluation["synth-sentiment"], review
        if " but " in review:
            assert liked == _polarity(review.split(" but ")[1]), review
        elif " although " in review:
            assert liked == _polarity(review.split(" although ")[0]), review
        elif " that " in review:  # "nobody thought that ..." reverses the clause
            frame, clause = review.split(" that ", 1)
            reverses = frame in ("nobody thought", "i do not think", "no critic said")
            assert liked == int(_polarity(clause) != reverses), review
        else:
            assert liked == _polarity(review), review
        checked += 1
    assert checked > 200
    # Written-out inferences: never an evaluation pair; entailment where train has it.
    nli = kdzoo.load_task("synth-nli")
    train = nli["train"]
    labels = dict(
        zip(
            zip(train.texts["premise"], train.texts["hypothesis"], strict=True),
            (nli.spec.label_names[y] for y in train.labels),
            strict=True,
        )
    )
    inferences = [s.rsplit(" so ", 1) for s in corpus if " so " in s and " so i " not in s]
    assert len(inferences) > 60
    for premise, hypothesis in inferences:
        assert (premise, hypothesis) not in evaluation["synth-nli"]
        assert labels.get((premise, hypothesis), "entailment") == "entailment"


def test_subsets_keep_annotations_aligned():
    full = NLI["train"]
    sub = load_embedded(
        "synth-nli", train_size=1500, dev_size=300, test_size=300, max_train_examples=100
    )["train"]
    index = {
        (p, h): i
        for i, (p, h) in enumerate(
            zip(full.texts["premise"], full.texts["hypothesis"], strict=True)
        )
    }
    for j, key in enumerate(zip(sub.texts["premise"], sub.texts["hypothesis"], strict=True)):
        i = index[key]
        assert sub.meta["premise_clause"][j] == full.meta["premise_clause"][i]
        assert sub.labels[j] == full.labels[i]

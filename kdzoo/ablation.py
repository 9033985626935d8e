"""Ablations: one method, several variants, the same seeds and budget, and the paper's
numbers beside them.

:func:`ablate` runs :func:`kdzoo.compare` once per variant (each in its own directory
under ``output_dir``, so finished variants are skipped on a second call and a variant
shared by two ablations, such as TinyBERT's full model, runs once: a variant's directory
is named by a hash of what it runs) and tabulates the
method's row of each::

    ab = kdzoo.ablate(
        "tinybert",
        {
            "TinyBERT4": {},
            "w/o GD": {"stages": ["intermediate", "prediction"]},
            "w/o Attn": {"config": {"attention_weight": 0.0}},
        },
        task="synth-sentiment",
        published={"TinyBERT4": "TinyBERT4", "w/o GD": "TinyBERT4 w/o GD",
                   "w/o Attn": "TinyBERT4 w/o Attn"},
    )
    ab.table      # mean ± std per variant, its change from the first (reference) variant
    ab.verdict()  # where the paper's ordering reproduces and where it does not
    ab.plot()

A variant is a dict of :func:`kdzoo.compare` arguments for this method: ``config``
(method config overrides), ``stages`` (the stages to run), ``augment`` and ``student``.

Book chapter: ``book/ablations/index.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Ablation", "ablate"]

_VARIANT_KEYS = {"config", "stages", "augment", "student"}


def _directory(variant: Mapping[str, Any]) -> str:
    """A variant's directory, named by a hash of what it runs (not of its name), so
    that identical variants of different ablations (each table's full model) share runs.
    Each directory's ``compare.json`` records the configuration."""
    content = json.dumps(dict(variant), sort_keys=True, default=str)
    return f"{hashlib.sha256(content.encode()).hexdigest()[:10]}"


@dataclass
class Ablation:
    """What :func:`ablate` returns.

    Attributes:
        method: the method ablated.
        task: the task.
        headline: the metric column compared (the task's first metric on its first
            evaluation split).
        table: one row per variant: ``mean``, ``std`` and ``seeds`` of the headline
            metric, ``delta`` (change from the reference variant, the first one),
            per-seed ``values`` (in the order of ``seed list``), ``train_s`` and
            ``config``; with ``published`` numbers
            for ``paper`` and ``paper delta`` where the paper reports the variant.
        published: the paper's rows (baselines/) that the variants map to.
        output_dir: where the runs are.
    """

    method: str
    task: str
    headline: str
    table: Any
    published: Any
    output_dir: Path
    reference: str = ""
    paper_metric: str = ""
    results: dict = field(default_factory=dict, repr=False)

    def verdict(self) -> Any:
        """Per variant: does its change from the reference have the paper's sign?

        The noise a change is measured against is, when the variant and the reference
        ran the same seeds (as :func:`ablate` runs them), the standard deviation of the
        per-seed differences: a seed fixes the student's initialisation, the data order
        and the dropout masks for both variants, so much of the seed-to-seed spread is
        shared and cancels in the difference. Otherwise it is the larger of the two
        variants' standard deviations.

        ``"reproduces"`` when both changes have the same sign and ours is larger than
        the noise; ``"within noise"`` when ours is not larger than the noise;
        ``"opposite"`` when it is larger and of the other sign; ``"no paper number"``
        for a change beyond the noise that the paper has no number for. With three
        seeds this is a rule of thumb (about 1.7 standard errors for paired runs), not a
        significance test.
        """
        import pandas as pd

        rows = []
        ref = self.table.loc[self.reference]
        for name, row in self.table.iterrows():
            if name == self.reference:
                continue
            paired = _paired_differences(ref, row)
            if paired is not None:
                noise = float(np.std(paired, ddof=1))
            else:
                noise = float(np.nanmax([row["std"], ref["std"], 0.0]))
            paper = row.get("paper delta", np.nan)
            if abs(row["delta"]) <= noise:
                verdict = "within noise"
            elif np.isnan(paper):
                verdict = "no paper number"
            elif np.sign(row["delta"]) == np.sign(paper):
                verdict = "reproduces"
            else:
                verdict = "opposite"
            rows.append(
                {
                    "variant": name,
                    "ours Δ": row["delta"],
                    "noise": noise,
                    "paired": paired is not None,
                    "paper Δ": paper,
                    "verdict": verdict,
                }
            )
        return pd.DataFrame(rows).set_index("variant")

    def report(self) -> str:
        """A Markdown paragraph that says, from :meth:`verdict`, where the paper's
        ordering reproduces and where it does not (for pages built from live runs)."""
        v = self.verdict()
        ref = self.table.loc[self.reference]
        lines = [
            f"Reference **{self.reference}**: {self.headline} {ref['mean']:.3f} ± "
            f"{ref['std']:.3f} over {int(ref['seeds'])} seeds."
        ]
        if len(v) and v["paired"].all():
            lines.append(
                "Each change is the mean of the per-seed differences from the reference, "
                "and its noise their standard deviation (the same seed starts both runs "
                "from the same initialisation and data order)."
            )
        groups = {
            "reproduces": "The paper's direction reproduces, beyond the noise, for",
            "opposite": "The change goes the other way than in the paper, beyond the noise, for",
            "within noise": "The change is within the noise (no conclusion) for",
            "no paper number": "A change beyond the noise, with no paper number to compare, for",
        }
        for key, text in groups.items():
            names = list(v.index[v["verdict"] == key])
            if names:
                items = ", ".join(
                    f"**{n}** ({v.loc[n, 'ours Δ']:+.3f}, noise {v.loc[n, 'noise']:.3f}"
                    + (
                        f"; paper {v.loc[n, 'paper Δ']:+.1f})"
                        if not np.isnan(v.loc[n, "paper Δ"])
                        else ")"
                    )
                    for n in names
                )
                lines.append(f"{text} {items}.")
        return " ".join(lines)

    def format(self) -> str:
        """The table as text, ``mean ± std`` per variant beside the paper's numbers."""
        lines = []
        for name, row in self.table.iterrows():
            paper = row.get("paper", np.nan)
            paper_text = (
                "" if np.isnan(paper) else f"   paper {paper:6.1f} ({row['paper delta']:+.1f})"
            )
            lines.append(
                f"{name:<24} {row['mean']:.3f} ± {row['std']:.3f}  ({row['delta']:+.3f})"
                + paper_text
            )
        return "\n".join(lines)

    def plot(self, path: str | Path | None = None):
        """Bar chart of each variant's change from the reference: ours (with the std as
        an error bar, in the task's metric × 100) beside the paper's. Saves a PNG in
        ``output_dir`` (or ``path``) and returns the figure."""
        import matplotlib.pyplot as plt

        from kdzoo._io import atomic_write

        others = [n for n in self.table.index if n != self.reference]
        pos = np.arange(len(others))
        fig, ax = plt.subplots(figsize=(1.3 * len(others) + 3, 3.6))
        ours = 100 * self.table.loc[others, "delta"].to_numpy(float)
        err = 100 * self.table.loc[others, "std"].to_numpy(float)
        ax.bar(pos - 0.2, ours, 0.4, yerr=err, capsize=3, label=f"kdzoo ({self.task})")
        if "paper delta" in self.table:
            paper = self.table.loc[others, "paper delta"].to_numpy(float)
            ax.bar(pos + 0.2, paper, 0.4, label=f"paper ({self.paper_metric})", alpha=0.7)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(pos, others, rotation=20, ha="right")
        ax.set_ylabel(f"change from {self.reference} (points)")
        ax.set_title(f"{self.method} ablation on {self.task}")
        ax.legend()
        fig.tight_layout()
        target = Path(path) if path is not None else self.output_dir / "ablation.png"
        atomic_write(target, lambda tmp: fig.savefig(tmp, dpi=120))
        return fig


def _paired_differences(ref, row) -> np.ndarray | None:
    """Per-seed differences ``row - ref`` when both ran the same (two or more) seeds."""
    ref_seeds, seeds = ref.get("seed list"), row.get("seed list")
    if not isinstance(ref_seeds, list) or ref_seeds != seeds or len(seeds) < 2:
        return None
    return np.asarray(row["values"], float) - np.asarray(ref["values"], float)


def ablate(
    method: str,
    variants: Mapping[str, Mapping[str, Any]],
    *,
    task: str = "synth-sentiment",
    seeds: Sequence[int] = (0, 1, 2),
    budget="small",
    output_dir: str | Path = "kdzoo_ablations",
    published: Mapping[str, str] | None = None,
    paper_task: str = "avg4",
    verbose: int = 1,
    **compare_kwargs: Any,
) -> Ablation:
    """Run ``variants`` of ``method`` on ``task`` and tabulate them.

    Args:
        method: a name from :func:`kdzoo.methods`.
        variants: ``{name: {"config": ..., "stages": ..., "augment": ..., "student":
            ...}}``; the first is the reference the others are compared with.
        task, seeds, budget: as in :func:`kdzoo.compare`.
        output_dir: each variant runs in ``output_dir / <variant slug>``.
        published: ``{variant: model name in baselines/published.csv}`` for the
            variants the paper reports (e.g. ``"TinyBERT4 w/o GD"``).
        paper_task: the task column of the paper's numbers to set beside ours
            (TinyBERT's ablation tables: ``"avg4"``, ``"mnli-matched"``, ...).
        verbose: as in :func:`kdzoo.compare`.
        **compare_kwargs: passed to every :func:`kdzoo.compare` call (``teacher``,
            ``max_length``, ...).

    Returns:
        An :class:`Ablation`.

    Raises:
        ValueError: no variants, or a variant with keys compare does not take here.
    """
    import pandas as pd

    from kdzoo.comparison import compare

    if not variants:
        raise ValueError("ablate needs at least one variant; the first is the reference.")
    for name, v in variants.items():
        unknown = sorted(set(v) - _VARIANT_KEYS)
        if unknown:
            raise ValueError(
                f"variant '{name}' has unknown key(s) {unknown}; a variant takes "
                f"{sorted(_VARIANT_KEYS)}."
            )
    slugs = [_directory(v) for v in variants.values()]
    output_dir = Path(output_dir)
    rows, results, headline = {}, {}, None
    for (name, v), slug in zip(variants.items(), slugs, strict=True):
        kwargs = dict(compare_kwargs)
        if "student" in v:
            kwargs["student"] = v["student"]
        res = compare(
            methods=[method],
            task=task,
            seeds=seeds,
            budget=budget,
            output_dir=output_dir / slug,
            config={method: dict(v.get("config", {}))} if v.get("config") else None,
            stages={method: list(v["stages"])} if v.get("stages") else None,
            augment=v.get("augment"),
            student_only=False,
            plot=False,
            verbose=verbose,
            **kwargs,
        )
        headline = res.headline
        row = res.table.loc[method]
        runs = res.runs[res.runs["name"] == method].sort_values("seed")
        rows[name] = {
            "mean": float(row[headline]),
            "std": float(row.get(f"{headline} std", np.nan)),
            "seeds": int(row["seeds"]),
            "values": [round(float(x), 4) for x in runs[headline]],
            "seed list": [int(x) for x in runs["seed"]],
            "train_s": float(row["train_s"]),
            "config": row["config"],
        }
        results[name] = res
    table = pd.DataFrame.from_dict(rows, orient="index")
    reference = next(iter(variants))
    table["delta"] = table["mean"] - table.loc[reference, "mean"]
    paper_rows = _paper_rows(method, published, paper_task)
    metric = ""
    if len(paper_rows):
        metric = f"{paper_rows['metric'].iloc[0]} on {paper_task}"
        by_model = dict(zip(paper_rows["model"], paper_rows["value"], strict=True))
        table["paper"] = [by_model.get((published or {}).get(n, ""), np.nan) for n in table.index]
        ref_paper = table.loc[reference, "paper"]
        table["paper delta"] = table["paper"] - ref_paper
    return Ablation(
        method=method,
        task=task,
        headline=headline,
        table=table,
        published=paper_rows,
        output_dir=output_dir,
        reference=reference,
        paper_metric=metric,
        results=results,
    )


def _paper_rows(method: str, published: Mapping[str, str] | None, paper_task: str):
    import pandas as pd

    from kdzoo.baselines import published as published_rows

    if not published:
        return pd.DataFrame()
    rows = published_rows(task=paper_task, method=method)
    rows = rows[rows["model"].isin(set(published.values()))]
    return rows.drop_duplicates("model").reset_index(drop=True)

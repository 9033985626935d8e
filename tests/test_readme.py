"""The README's claims that code can check: the preset table and the two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kdzoo.models import PRESETS, BertConfig

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_preset_table_matches_the_code():
    rows = re.findall(
        r"^\| `([\w-]+)` \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([\d,]+) \|", README, flags=re.M
    )
    assert {r[0] for r in rows} == set(PRESETS)
    for name, layers, hidden, ffn, heads, params in rows:
        c = BertConfig.from_preset(name)
        assert (
            c.num_hidden_layers,
            c.hidden_size,
            c.intermediate_size,
            c.num_attention_heads,
        ) == tuple(map(int, (layers, hidden, ffn, heads))), name
        assert c.num_parameters() == int(params.replace(",", "")), name


def test_ci_runs_the_readme_commands():
    """.ci/run reads both commands from the README, so they cannot drift apart."""
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "ci:setup" in ci and "ci:test" in ci
    for marker in ("ci:setup", "ci:test"):
        block = README.split(f"<!-- {marker}", 1)[1].split("```bash\n", 1)[1]
        command = block.split("\n", 1)[0]
        assert command.startswith(".venv/bin/" if marker == "ci:test" else "python3 -m venv")
    assert "constraints.txt" in README.split("<!-- ci:setup", 1)[1].split("```", 2)[1]


@pytest.mark.orchestration
def test_five_line_distill_example_runs(tmp_path):
    """Execute the README's kdzoo.distill block, with a local checkpoint for the path.
    In the torch env only: the three TinyBERT stages it runs are trained on every
    backend by test_methods.py::test_distill_runs_all_tinybert_stages_with_corpus."""
    import method_cases as mc

    from kdzoo.models import BertModel, to_hf

    code = README.split("## Distilling in five lines", 1)[1].split("```python\n", 1)[1]
    code = code.split("```", 1)[0]
    assert len(code.strip().splitlines()) == 5
    teacher = BertModel(dict(mc.TEACHER, num_attention_heads=12, hidden_size=24))
    to_hf(teacher, tmp_path / "teacher")
    x, y = mc.batch(0)
    x_unlabelled, _ = mc.batch(1)
    code = code.replace("path/to/fine-tuned-bert", str(tmp_path / "teacher"))
    code = code.replace('"tinybert.keras"', repr(str(tmp_path / "tinybert.keras")))
    scope = {"x": x, "y": y, "x_unlabelled": x_unlabelled}
    exec(compile(code, "README.md", "exec"), scope)
    result = scope["result"]
    assert result.stages == ["general", "intermediate", "prediction"]
    assert (tmp_path / "tinybert.keras").exists()
    assert result.student.config.hidden_size == 312

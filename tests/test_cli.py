"""The command line, and the smallest real distillation run behind `kdzoo demo`."""

from __future__ import annotations

import pytest

from kdzoo.cli import main
from kdzoo.demo import make_sentiment_task, run_demo
from kdzoo.models import BertConfig


def test_presets_command(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "tinybert-4l" in out and "tang-mnli" in out
    assert f"{BertConfig.from_preset('bert-base').num_parameters():,}" in out


def test_info_command(capsys, offline):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend:" in out and "unreachable (offline)" in out


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["distil-everything"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_sentiment_task_is_deterministic_and_balanced():
    a, ya = make_sentiment_task(500, seed=3)
    b, yb = make_sentiment_task(500, seed=3)
    assert a == b and (ya == yb).all()
    assert 0.4 < ya.mean() < 0.6
    assert make_sentiment_task(50, seed=4)[0] != a[:50]


def test_demo_distillation_beats_labels_only():
    """The student distilled on the transfer set beats the same student on labels alone."""
    result = run_demo(seed=0, verbose=0)
    assert result.teacher_accuracy > 0.95
    assert result.distilled_accuracy > result.student_accuracy
    assert result.student_parameters < result.teacher_parameters / 10
    assert "student, distilled (KD)" in str(result)


def test_methods_and_tasks_commands(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "tinybert" in out and "general, intermediate, prediction" in out
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "mnli" in out and "entailment/neutral/contradiction" in out and "synth-nli" in out


def test_fresh_interpreter_sees_every_task_and_method():
    """Registries fill themselves on first use, without the test modules' imports."""
    import subprocess
    import sys

    code = "import kdzoo; print(kdzoo.tasks()); print(kdzoo.methods())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    for name in ("mnli", "stsb", "synth-nli", "synth-sentiment", "tinybert", "lad", "bilstm"):
        assert f"'{name}'" in out

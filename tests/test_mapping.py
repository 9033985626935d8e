"""Layer mappings against the index sets of the papers and the official code."""

from __future__ import annotations

import pytest

from kdzoo.mapping import (
    check_same_heads,
    distilbert_init_layers,
    lad_mapping,
    pkd_mapping,
    tinybert_mapping,
)


def test_tinybert_uniform_as_official_code():
    assert tinybert_mapping(12, 4) == {"attention": [2, 5, 8, 11], "hidden": [0, 3, 6, 9, 12]}
    six = tinybert_mapping(12, 6)
    assert six["attention"] == [1, 3, 5, 7, 9, 11]  # teacher layers 2, 4, ..., 12
    assert six["hidden"] == [0, 2, 4, 6, 8, 10, 12]


def test_tinybert_top_and_bottom_table_4():
    assert tinybert_mapping(12, 4, "top") == {
        "attention": [8, 9, 10, 11],
        "hidden": [0, 9, 10, 11, 12],
    }
    assert tinybert_mapping(12, 4, "bottom") == {
        "attention": [0, 1, 2, 3],
        "hidden": [0, 1, 2, 3, 4],
    }


@pytest.mark.parametrize(
    ("n", "m", "strategy", "expected"),
    [
        (12, 6, "skip", [2, 4, 6, 8, 10]),  # fc_layer_idx 1,3,5,7,9
        (12, 3, "last", [10, 11]),  # fc_layer_idx 9,10
        (24, 6, "skip", [4, 8, 12, 16, 20]),
        (24, 3, "skip", [8, 16]),
        (12, 6, "last", [7, 8, 9, 10, 11]),
        (12, 3, "skip", [4, 8]),
    ],
)
def test_pkd_official_index_sets(n, m, strategy, expected):
    assert pkd_mapping(n, m, strategy) == expected


def test_distilbert_init():
    assert distilbert_init_layers() == [0, 2, 4, 7, 9, 11]
    assert distilbert_init_layers(12, 6, "every_other") == [0, 2, 4, 6, 8, 10]
    assert distilbert_init_layers(6, 3, "every_other") == [0, 2, 4]
    with pytest.raises(ValueError, match="use strategy='every_other'"):
        distilbert_init_layers(12, 4)


def test_lad():
    assert lad_mapping(12, 6) == [2, 4, 6, 8, 10, 12]
    assert lad_mapping(12, 4) == [3, 6, 9, 12]
    assert lad_mapping(12, 5, rounding="floor") == [2, 4, 6, 8, 10]


def test_depth_that_does_not_divide():
    with pytest.raises(ValueError, match=r"do not divide.*rounding='floor'"):
        tinybert_mapping(12, 5)
    assert tinybert_mapping(12, 5, rounding="floor")["hidden"] == [0, 2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match="cannot learn"):
        pkd_mapping(4, 6)
    with pytest.raises(ValueError, match="unknown TinyBERT mapping 'middle'"):
        tinybert_mapping(12, 4, "middle")
    with pytest.raises(ValueError, match="rounding must be None or 'floor'"):
        lad_mapping(12, 4, rounding="ceil")


def test_head_count_mismatch_explains():
    check_same_heads(12, 12)
    with pytest.raises(ValueError, match=r"head by head.*12 heads and the student 4"):
        check_same_heads(12, 4)

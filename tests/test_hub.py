"""Hub resolution: local paths first, the cache next, and a fast failure offline."""

from __future__ import annotations

import time

import pytest

from kdzoo import hub

pytestmark = pytest.mark.no_backend  # runs no Keras code: tested in the torch env only


def test_local_directory_is_used(tmp_path):
    assert hub.resolve_pretrained(tmp_path) == tmp_path


def test_missing_local_path_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        hub.resolve_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError):
        hub.resolve_pretrained("./checkpoints/teacher")


def test_offline_env_is_honoured(offline):
    assert hub.hub_is_offline()
    with pytest.raises(hub.HubUnavailableError, match="HF_HUB_OFFLINE"):
        hub.resolve_pretrained("some-org/some-model")


def test_unreachable_endpoint_is_detected_quickly(monkeypatch):
    """With no offline variable set, an unreachable hub is found in seconds, not 23-46 s."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    # A closed port on loopback: refused at once, the same answer as no network.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    assert hub.hub_is_offline()
    assert time.perf_counter() - start < 5.0

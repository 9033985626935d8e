"""Resolve Hugging Face hub names to local directories, failing fast when offline.

A hub call on a machine without network access retries for 23-46 s before it
fails. kdzoo checks first, in well under a second, and raises
:class:`HubUnavailableError` with the fix (a local directory, or going online).

Order of resolution for ``name_or_path``:

1. an existing local directory is used as it is;
2. a hub name already in the local Hugging Face cache is used from there;
3. otherwise the hub must be reachable: with ``HF_HUB_OFFLINE=1`` or no route to
   the hub endpoint, kdzoo raises at once.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["HubUnavailableError", "hub_is_offline", "resolve_pretrained"]

_TRUE = {"1", "true", "yes", "on"}
_PROBE_TIMEOUT_S = 3.0


class HubUnavailableError(OSError):
    """A hub name was given but the Hugging Face hub cannot be reached."""


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def _env_offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _probe(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def hub_is_offline() -> bool:
    """Return True when the hub cannot be reached, deciding within about 3 s.

    ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE`` / ``HF_DATASETS_OFFLINE``) set
    to a true value means offline. Otherwise kdzoo opens one TCP connection to
    the hub endpoint (``HF_ENDPOINT``). When an HTTP(S) proxy is configured the
    probe is skipped and the hub client is trusted to use the proxy.
    """
    if _env_offline():
        return True
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return False
    url = urlparse(_endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)
    # getaddrinfo ignores socket timeouts, so the probe runs in a thread we can abandon.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return not pool.submit(_probe, host, port).result(timeout=_PROBE_TIMEOUT_S + 0.5)
    except concurrent.futures.TimeoutError:
        return True
    finally:
        pool.shutdown(wait=False)


def _offline_message(name: str, what: str) -> str:
    return (
        f"cannot load {what} '{name}': it is not a local directory, it is not in the "
        "Hugging Face cache, and the hub is unreachable (offline or HF_HUB_OFFLINE=1). "
        f"Pass a local directory instead (for example one written by "
        f"`save_pretrained(dir)` on a machine with network access), or go online."
    )


def resolve_pretrained(
    name_or_path: str | os.PathLike,
    *,
    allow_patterns: list[str] | None = None,
    what: str = "checkpoint",
) -> Path:
    """Return a local directory holding ``name_or_path``.

    Args:
        name_or_path: a local directory, or a hub repository id such as
            ``"bert-base-uncased"``.
        allow_patterns: file patterns to download from the hub (all files if None).
        what: what is being loaded, for the error message.

    Raises:
        FileNotFoundError: ``name_or_path`` looks like a path but does not exist.
        HubUnavailableError: a hub name was given and the hub cannot be reached.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    if path.exists() or name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise FileNotFoundError(
            f"{what} '{name}' is not a directory. Pass a directory holding config.json "
            "and the weights, or a Hugging Face hub name such as 'bert-base-uncased'."
        )
    from huggingface_hub import snapshot_download

    try:  # a cached copy works offline
        return Path(snapshot_download(name, allow_patterns=allow_patterns, local_files_only=True))
    except Exception:
        pass
    if hub_is_offline():
        raise HubUnavailableError(_offline_message(name, what))
    return Path(snapshot_download(name, allow_patterns=allow_patterns))

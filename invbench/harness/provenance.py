"""Where and with what a result was produced: versions, git revision, device, host."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The invbench source tree's commit (``+dirty`` with uncommitted changes); empty outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{rev}+dirty" if dirty else rev


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of invbench, torch, deepwave and Python, plus the git revision and host name."""
    import invbench

    return {
        "invbench_version": getattr(invbench, "__version__", "") or _package_version("invbench"),
        "torch_version": torch.__version__,
        "deepwave_version": _package_version("deepwave"),
        "python_version": platform.python_version(),
        "git_revision": git_revision(),
        "hostname": platform.node(),
    }


def describe_device(device: torch.device) -> str:
    """Human-readable device: ``"cpu (x86_64, 2 cores)"`` or ``"cuda (NVIDIA H100 80GB HBM3)"``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"

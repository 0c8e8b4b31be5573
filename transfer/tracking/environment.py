"""What produced a study run: Python, platform, device, executor, package versions, git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("transfer", "torch", "timm", "scikit-learn", "mlflow", "numpy", "scipy")


def environment(device: str, executor: str) -> dict[str, Any]:
    """The environment a study ran in, as logged on its parent run (``environment.json``)."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "executor": executor,
        "git_commit": git_commit(),
        "versions": versions,
    }


def code_version() -> str:
    """The version of transfer and the commit it runs from: a study's summary, claims and
    headlines are written again when a re-run finds them written by other code."""
    try:
        version = metadata.version("transfer")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"transfer {version} at {git_commit()}"


def git_commit() -> str:
    """The commit of the checkout ``transfer`` runs from (or the working directory's), if any."""
    for folder in (Path(__file__).resolve().parent, Path.cwd()):
        try:
            out = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return out.stdout.strip()
    return "unknown"

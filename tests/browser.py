"""A real headless Chromium for page tests: the DOM after the page's scripts ran, what the page
wrote to its console, and a screenshot kept under ``test-artifacts/``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ARTIFACTS = Path(os.environ.get("TRANSFER_TEST_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "test-artifacts"))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "needs Chromium (apt-get install chromium; the README's test command does it)"
    return found


def browse(url: str, name: str, budget_ms: int = 25000) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran and the lines its console printed (Chromium logs
    every console message and uncaught error as ``CONSOLE``); a screenshot is kept."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--virtual-time-budget={budget_ms}", "--window-size=1400,1800",
            "--enable-logging=stderr", "--v=0"]
    subprocess.run([*base, f"--screenshot={ARTIFACTS / name}.png", url],
                   capture_output=True, timeout=180, check=True)
    out = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=180, check=True)
    (ARTIFACTS / f"{name}.html").write_text(out.stdout)
    console = [line for line in out.stderr.splitlines() if ":CONSOLE" in line]
    return out.stdout, console

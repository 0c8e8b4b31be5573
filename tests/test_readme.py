"""The README's plugin example runs exactly as printed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _block(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```\w+\n(.*?)```\n<!-- /{marker} -->", README, re.S)
    assert match, f"README has no {marker} block"
    return match.group(1)


def test_the_plugin_example_runs_as_printed(tmp_path):
    folder = tmp_path / "my_plugins"
    folder.mkdir()
    (folder / "least_likely.py").write_text(_block("plugin-example"))
    command = shlex.split(_block("plugin-command").replace("\\\n", " "))
    assert command[:3] == ["transfer", "study", "run"]
    script = "from transfer.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", script, *command[1:]],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "least-likely" in out.stdout and "tiny-cnn" in out.stdout
    assert "6 cells done" in out.stderr and "0 failed" in out.stderr
    assert (tmp_path / "mlflow.db").exists()

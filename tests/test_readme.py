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
    script = "from transfer.cli.main import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", script, *command[1:]],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "least-likely" in out.stdout and "tiny-cnn" in out.stdout
    assert "6 cells done" in out.stderr and "0 failed" in out.stderr
    assert (tmp_path / "mlflow.db").exists()


def test_the_readme_states_the_verdict_of_every_built_in_claim():
    """The README's verdict table is written by `transfer report --markdown README.md` over the
    default configs: it must list every claim and headline the built-in studies declare now."""
    from transfer import load_registry
    from transfer.cli.report_command import MARKERS

    assert README.count(MARKERS[0]) == 1 and README.count(MARKERS[1]) == 1
    table = README.split(MARKERS[0])[1].split(MARKERS[1])[0]
    assert "written by `transfer report --markdown README.md`" in table
    registry = load_registry()
    for name in registry.names("study"):
        study = registry.get("study", name)
        for claim in study.claims:
            row = re.search(rf"^\| [^|]+ \| {name} \| .*\(`{claim.id}`\) \| \*\*(\w+)\*\* \|",
                            table, re.M)
            assert row, f"README: no verdict for {name}'s claim {claim.id}; re-run the command"
            assert row.group(1) in ("PASS", "FAIL", "INCONCLUSIVE")
        for headline in study.headlines:
            assert re.search(rf"^\| {name} \| .*\(`{headline.id}`\) \|", table, re.M), \
                f"README: no row for {name}'s headline {headline.id}; re-run the command"

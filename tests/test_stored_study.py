"""What a finished default study leaves in MLflow, read back and compared with what its cells
computed and its summary holds: nothing about what is stored changes silently."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from transfer import NotApplicable, run_study
from transfer.cli.config_files import read_default_config
from transfer.contracts.results import encode
from transfer.plugging.plugin_manager import load_registry
from transfer.studies.transfer_matrix import TransferMatrix
from transfer.tracking.cell_record import metric_key
from transfer.tracking.cell_runs import CELL_KEY, NOT_APPLICABLE_TAG, PARENT, RESULT_FILE


def _same(stored: float, computed: float) -> bool:
    return (math.isnan(stored) and math.isnan(computed)) or stored == computed


def test_the_default_transfer_matrix_reads_back_as_computed(tmp_path):
    registry = load_registry()
    config = read_default_config(registry.get("study", "transfer-matrix"), ())
    run = run_study(config, registry=registry, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
                    cache_dir=str(tmp_path / "cache"))
    client = MlflowClient(run.tracking_uri)
    parent = client.get_run(run.run_id)
    assert parent.info.status == "FINISHED" and not run.failed

    # the cells: a child run per cell that ran (params, metrics, result file), a tag per n/a one
    children = {c.data.tags[CELL_KEY]: c for c in client.search_runs(
        [run.experiment_id], f"tags.`{PARENT}` = '{run.run_id}'", max_results=1000)}
    ran = {c.key: (c, r) for c, r in run.results.items() if not isinstance(r, NotApplicable)}
    not_applicable = {c.key: r.reason for c, r in run.results.items()
                      if isinstance(r, NotApplicable)}
    assert ran and not_applicable and len(ran) + len(not_applicable) == len(run.results)
    assert children.keys() == ran.keys()
    assert {k.removeprefix(NOT_APPLICABLE_TAG): v for k, v in parent.data.tags.items()
            if k.startswith(NOT_APPLICABLE_TAG)} == not_applicable
    for key, (cell, result) in ran.items():
        child = children[key]
        assert child.info.status == "FINISHED"
        assert child.data.params == {k: str(v) for k, v in cell.params}
        computed = {metric_key(k): float(v) for k, v in result.metrics().items()}
        assert child.data.metrics.keys() == computed.keys()
        assert all(_same(child.data.metrics[k], v) for k, v in computed.items()), key
        stored = Path(client.download_artifacts(child.info.run_id, RESULT_FILE, str(tmp_path)))
        assert json.dumps(json.loads(stored.read_text()), sort_keys=True) == json.dumps(
            encode(result, TransferMatrix.result_format), sort_keys=True)

    # the summary: every table, figure and summary metric (claims and headlines among them)
    summary = run.summary
    assert {"transfer_matrix", "clean_error", "claims"} <= summary.tables.keys()
    for name, table in summary.tables.items():
        path = client.download_artifacts(run.run_id, f"tables/{name}.json", str(tmp_path))
        stored = pd.read_json(path, orient="split")
        expected = pd.DataFrame(table.columns)
        assert list(stored.columns) == list(expected.columns), name
        pd.testing.assert_frame_equal(stored, expected, check_dtype=False, obj=name)
    figures = {a.path for a in client.list_artifacts(run.run_id, "figures")}
    assert figures == {f"figures/{name}.png" for name in summary.figures}
    assert figures == {f"figures/heatmap_{attack['name']}.png" for attack in config["attacks"]}
    assert summary.metrics and all(
        _same(parent.data.metrics[metric_key(k)], float(v)) for k, v in summary.metrics.items())
    verdicts = {f"claim.{claim.id}" for claim, _ in run.claims}
    assert verdicts <= parent.data.metrics.keys() and len(verdicts) >= 3


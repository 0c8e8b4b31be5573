"""A team's store: two different studies run at the same time, in two processes, against one
`mlflow server` on 127.0.0.1 (started by the test), sharing one model cache. Their runs do not mix,
every cell is logged once under its own parent, every model once, and no lock is left behind."""

from __future__ import annotations

import json

from mlflow import MlflowClient

from transfer import load_registry
from transfer.contracts.validation import validate_config
from transfer.tracking.cell_runs import CELL_KEY, PARENT
from transfer.tracking.model_runs import MODEL_KEY, MODELS_EXPERIMENT

from .processes import MlflowServer, transfer_command

MATRIX = {"study": "transfer-matrix", "n_points": 40, "eps": [0.1, 0.2], "attacks": ["fgsm"],
          "models": ["logreg", {"name": "softmax", "params": {"epochs": 10}}]}
SPECTRAL = {"study": "spectral-alignment", "n_points": 30,
            "models": [{"name": "softmax", "params": {"epochs": 10}},
                       {"name": "mlp", "params": {"hidden": [16], "epochs": 5}}]}


def test_two_studies_at_once_against_one_server(tmp_path):
    server = MlflowServer(tmp_path)
    uri = server.start()
    try:
        configs = {config["study"]: config for config in (MATRIX, SPECTRAL)}
        processes = []
        for study, config in configs.items():
            path = tmp_path / f"{study}.yaml"
            path.write_text(json.dumps(config))  # JSON is YAML
            processes.append(transfer_command(
                "study", "run", str(path), "--tracking-uri", uri, "--no-progress",
                env={"TRANSFER_CACHE_DIR": str(tmp_path / "shared-cache")}))
        for process in processes:
            _, stderr = process.communicate(timeout=600)
            assert process.returncode == 0, stderr
        client = MlflowClient(uri)
        registry = load_registry()
        for study, config in configs.items():
            study_object, validated = validate_config(registry, config)
            planned = sorted(cell.key for cell in study_object.plan(validated))
            experiment = client.get_experiment_by_name(study)
            runs = client.search_runs([experiment.experiment_id])
            parents = [r for r in runs if r.data.tags.get("transfer.role") == "study"]
            assert len(parents) == 1 and parents[0].info.status == "FINISHED"
            children = [r for r in runs if r is not parents[0]]
            assert all(r.data.tags[PARENT] == parents[0].info.run_id for r in children)
            assert sorted(r.data.tags[CELL_KEY] for r in children) == planned
        models = client.search_runs(
            [client.get_experiment_by_name(MODELS_EXPERIMENT).experiment_id])
        keys = [r.data.tags[MODEL_KEY] for r in models]
        # 2 families x 2 disjoint halves for the matrix, 2 on the whole set for the other
        assert len(keys) == len(set(keys)) == 6
        assert all(r.info.status == "FINISHED" for r in models)
        assert not client.search_registered_models(), "no lock is left behind"
    finally:
        server.stop()

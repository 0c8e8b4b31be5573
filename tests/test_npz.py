"""The `npz` dataset: the user's own arrays from one .npz file, read without unpickling; a study
runs on them; a changed file is new data; bad files fail in one clear line before any work."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from transfer import ConfigError, run_study
from transfer.cli.main import cli


def _write(path, digits, **extra):
    arrays = {"x_train": digits.x_train.numpy(), "y_train": digits.y_train.numpy(),
              "x_test": digits.x_test.numpy(), "y_test": digits.y_test.numpy(), **extra}
    np.savez(path, **arrays)
    return path


def test_a_study_runs_on_the_users_arrays(tmp_path, registry, digits, tracking_uri, monkeypatch):
    path = _write(tmp_path / "mine.npz", digits, class_names=np.array(list("0123456789")))
    data = registry.create("dataset", "npz", path=str(path))
    assert data.input_shape == (1, 8, 8) and data.bounds == (0.0, 1.0)
    assert data.class_names == tuple("0123456789") and len(data.y_test) == len(digits.y_test)
    assert np.array_equal(data.x_train.numpy(), digits.x_train.numpy())
    monkeypatch.setenv("TRANSFER_DATA_ROOT", str(tmp_path))  # a relative path: the data root
    config = {"study": "transfer-matrix", "models": ["logreg", "decision-tree"],
              "dataset": {"name": "npz", "params": {"path": "mine.npz"}},
              "attacks": ["fgsm", "noise"], "eps": [0.2], "n_points": 40}
    run = run_study(config, tracking_uri=tracking_uri)
    assert not run.failed and len(run.results) == 4

    shifted = _write(tmp_path / "mine.npz", digits)  # the same name, other content
    again = registry.create("dataset", "npz", path=str(shifted))
    assert again.spec["sha256"] != data.spec["sha256"], "a changed file is new data"


def test_bad_files_fail_clearly(tmp_path, registry, digits, tracking_uri):
    with pytest.raises(FileNotFoundError, match="no file .*missing.npz"):
        registry.create("dataset", "npz", path=str(tmp_path / "missing.npz"))
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=digits.x_train.numpy(), x_test=digits.x_test.numpy(),
             y_test=digits.y_test.numpy())
    with pytest.raises(ValueError, match="has no y_train"):
        registry.create("dataset", "npz", path=str(partial))
    test_only = tmp_path / "test-only.npz"
    np.savez(test_only, x_test=digits.x_test.numpy(), y_test=digits.y_test.numpy())
    only = registry.create("dataset", "npz", path=str(test_only))
    assert len(only.y_train) == 0 and only.x_train.shape[1:] == digits.x_test.shape[1:]
    pickled = _write(tmp_path / "pickled.npz", digits,
                     class_names=np.array([{"a": 1}] * 10, dtype=object))
    with pytest.raises(ValueError, match="plain numeric arrays"):
        registry.create("dataset", "npz", path=str(pickled))
    floats = tmp_path / "floats.npz"
    np.savez(floats, x_train=digits.x_train.numpy(), y_train=digits.y_train.numpy() + 0.5,
             x_test=digits.x_test.numpy(), y_test=digits.y_test.numpy())
    with pytest.raises(ValueError, match="class indices"):
        registry.create("dataset", "npz", path=str(floats))
    with pytest.raises(ValueError, match=r"must be \[lo, hi\] around the data"):
        registry.create("dataset", "npz", path=str(_write(tmp_path / "ok.npz", digits)),
                        bounds=[0.0, 0.5])

    config = {"study": "transfer-matrix", "models": ["logreg"], "attacks": ["noise"], "eps": [0.1],
              "dataset": {"name": "npz", "params": {"path": str(tmp_path / "missing.npz")}}}
    with pytest.raises(ConfigError, match="missing.npz"):
        run_study(config, tracking_uri=tracking_uri)
    toml = tmp_path / "study.toml"
    toml.write_text(f'study = "transfer-matrix"\nmodels = ["logreg"]\nattacks = ["noise"]\n'
                    f'eps = [0.1]\n[dataset]\nname = "npz"\nparams = {{ path = "{test_only}" }}\n')
    out = CliRunner().invoke(cli, ["study", "run", str(toml), "--tracking-uri", tracking_uri,
                                   "--no-progress"])
    assert out.exit_code == 1 and "test points only" in out.output
    assert "would train: models.0.logreg" in out.output
    assert "Traceback" not in out.output

"""Config files and --set overrides."""

from __future__ import annotations

import pytest

from transfer.cli.config_files import ConfigFileError, apply_overrides, load_config


def test_overrides_parse_yaml_values_and_index_lists():
    data = {"eps": [0.1], "models": [{"name": "mlp"}], "dataset": {"name": "digits"}}
    apply_overrides(data, ["eps=[0.2, 0.3]", "models.0.params.hidden=[64]", "n_points=10",
                           "dataset.params.size=16", "disjoint=false"])
    assert data == {"eps": [0.2, 0.3], "models": [{"name": "mlp", "params": {"hidden": [64]}}],
                    "dataset": {"name": "digits", "params": {"size": 16}}, "n_points": 10,
                    "disjoint": False}


@pytest.mark.parametrize("override,message", [
    ("n_points", "expected KEY=VALUE"),
    ("models.3.name=x", "list of 1"),
    ("eps=[0.1", "eps=\\[0.1"),
])
def test_bad_overrides_say_what_is_wrong(override, message):
    with pytest.raises(ConfigFileError, match=message):
        apply_overrides({"models": [{"name": "mlp"}]}, [override])


def test_toml_and_yaml_files(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text('study = "transfer-matrix"\neps = [0.1]\n')
    yaml = tmp_path / "a.yaml"
    yaml.write_text("study: transfer-matrix\neps: [0.1]\n")
    assert load_config(toml) == load_config(yaml) == {"study": "transfer-matrix", "eps": [0.1]}
    bad = tmp_path / "a.json"
    bad.write_text("{}")
    with pytest.raises(ConfigFileError, match=".toml, .yaml or .yml"):
        load_config(bad)
    broken = tmp_path / "b.toml"
    broken.write_text("study = ")
    with pytest.raises(ConfigFileError, match="b.toml"):
        load_config(broken)

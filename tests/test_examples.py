"""The example configs shipped in examples/ validate: their study, plugin names and parameters
(the files they name are the user's, checked when a run starts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from transfer.cli.config_files import load_config
from transfer.contracts.validation import validate_config

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


def test_there_are_examples():
    assert {p.name for p in EXAMPLES} >= {"cifar10-pretrained.toml", "imagenet-folder.toml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_example_validates(path, registry):
    study, config = validate_config(registry, load_config(path))
    models = [m for m in config.models]
    assert all("weights" in m.params for m in models), "every example model loads its file"

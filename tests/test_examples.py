"""The example configs shipped in examples/ validate: their study, plugin names and parameters
(the files they name are the user's, checked when a run starts). The pretrained examples load
every model from a weight file; the papers' examples read the user's data files, name their paper
and its number, change the study's default setting, and one of them runs end to end on tiny
MNIST files written in the real format."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from transfer import run_study
from transfer.cli.config_files import load_config, read_default_config
from transfer.contracts.validation import component_specs, validate_config

from .test_loaders import make_idx_set

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))
PRETRAINED = {"cifar10-pretrained.toml", "imagenet-folder.toml", "imagenet-transfer-attacks.toml"}
PAPERS = [p for p in EXAMPLES if p.name not in PRETRAINED]
USER_FILES = {"mnist", "fashion-mnist", "cifar10", "image-folder", "npz"}  # the user's files
PAPER_STUDIES = {  # the studies the papers' examples cover (all built in when written)
    "transfer-matrix", "transfer-attacks", "ensemble-source", "subspace-dimension",
    "noise-vs-adversarial", "lipschitz", "robustness", "non-robust-features", "concentration",
    "oscillation", "spectral-alignment", "noise-error", "boundary-tilting", "manifold",
}


def header(path: Path) -> str:
    """The example's leading comment, one line of text."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def papers_of(study) -> set[tuple[str, str]]:
    """(first author, year) of every paper the study's claims and headlines cite."""
    cited = [c.paper for c in study.claims] + [h.paper for h in study.headlines]
    found = set()
    for piece in (p for text in cited for p in re.split(r"[;(]", text)):
        match = re.search(r"([A-Z][\w'’-]+)\D*?(\d{4})", piece)
        if match:
            found.add(match.groups())
    return found


NUMBER = r"(?<![\d.])(?<!eps )(\d+\.\d+%?|\d+%)"  # a rate or a decimal, not a budget


def numbers_of(study) -> set[str]:
    """The results the study's headlines quote from their papers (rates and decimals)."""
    return {n for h in study.headlines for n in re.findall(NUMBER, h.paper_value)}


def test_there_are_examples(registry):
    assert {p.name for p in EXAMPLES} >= PRETRAINED
    built_in = {name for name in registry.names("study")
                if registry.get("study", name).__module__.startswith("transfer.studies.")}
    assert built_in >= PAPER_STUDIES
    missing = built_in - {load_config(p)["study"] for p in PAPERS}
    assert not missing, f"built-in studies without a papers' example in examples/: {missing}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_example_validates(path, registry):
    study, config = validate_config(registry, load_config(path))
    if path.name in PRETRAINED:
        assert all("weights" in m.params for m in config.models), "every model loads its file"


@pytest.mark.parametrize("path", PAPERS, ids=lambda p: p.name)
def test_a_papers_example_reads_the_users_files(path, registry):
    _, config = validate_config(registry, load_config(path))
    datasets = {where: spec.name for where, spec in component_specs(config)
                if spec.kind == "dataset" and not where.startswith("synthetic.")}
    assert "dataset." in datasets  # the study's own data
    assert set(datasets.values()) <= USER_FILES, datasets


@pytest.mark.parametrize("path", PAPERS, ids=lambda p: p.name)
def test_a_papers_example_names_its_paper_and_number(path, registry):
    study, _ = validate_config(registry, load_config(path))
    text = header(path)
    cited = [(a, y) for a, y in papers_of(study)
             if re.search(rf"{re.escape(a)}\b.{{0,60}}?\b{y}\b", text)]
    assert cited, f"the header names none of {sorted(papers_of(study))}"
    quoted = numbers_of(study)
    if quoted:  # the paper's number as this repository states it
        assert quoted & set(re.findall(NUMBER, text)), f"the header quotes none of {sorted(quoted)}"
    else:
        assert "see the paper" in text
    assert re.search(r"\bOurs:", text) and re.search(r"\bWhat differs:", text)


@pytest.mark.parametrize("path", PAPERS, ids=lambda p: p.name)
def test_a_papers_example_is_not_the_default_on_other_data(path, registry):
    """Beyond its dataset, the example changes the study's default setting."""
    study, config = validate_config(registry, load_config(path))
    _, default = validate_config(registry, read_default_config(study))
    mine, theirs = (c.model_dump(mode="json", exclude={"dataset"}) for c in (config, default))
    assert mine != theirs


def small(spec, epochs=1):
    """The model spec, trained for ``epochs`` epochs only."""
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    spec["params"] = {**spec.get("params", {}), "epochs": epochs}
    return spec


def test_goodfellows_mnist_example_runs_on_tiny_mnist_files(tmp_path, monkeypatch,
                                                             tracking_uri):
    """Goodfellow et al.'s example end to end on 200 + 40 random 28 x 28 images written as
    MNIST's IDX files, with fewer points and epochs: its grid holds the paper's eps 0.25, and
    its sweep reads MNIST at 7, 14 and 28 px."""
    make_idx_set(tmp_path / "data" / "mnist", n_train=200, n_test=40)
    monkeypatch.setenv("TRANSFER_DATA_ROOT", str(tmp_path / "data"))
    config = load_config(next(p for p in PAPERS
                              if p.name == "goodfellow2014-mnist-noise-vs-adversarial.toml"))
    config.update(n_points=20, n_random=1,
                  models=[small(m) for m in config["models"]],
                  sweep_models=[small(m) for m in config["sweep_models"]])
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    parts = {(c["part"], c["model"], c["data"]): r for c, r in result.results.items()}
    assert {m for p, m, _ in parts if p == "curves"} == {"softmax", "maxout", "rbf-net"}
    dims = sorted(r.metrics()["dimension"] for (p, _, _), r in parts.items() if p == "sweep")
    assert dims == [49, 49, 196, 196, 784, 784]  # two sweep models at 7, 14 and 28 px
    headline = {h.id: m for h, m in result.headlines}["fgsm-error-0.25"]
    assert not math.isnan(headline.value) and "eps 0.25, 20 test points" in headline.text

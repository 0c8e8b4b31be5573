"""Every built-in claim is a falsifiable test: on constructed results (``tests/claim_cases``) it
returns each of PASS, FAIL and INCONCLUSIVE, so a claim that cannot fail fails the suite."""

from __future__ import annotations

from functools import cache

import pytest

from transfer import load_registry

from .claim_cases import all_cases

VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
CASES = all_cases()


@cache
def _registered() -> dict[tuple[str, str], object]:
    registry = load_registry()
    return {(study, claim.id): claim for study in registry.names("study")
            for claim in registry.get("study", study).claims
            if registry.get("study", study).__module__.startswith("transfer.studies.")}


def test_every_built_in_claim_has_a_case_for_every_verdict():
    registered = _registered()
    missing = [f"{study}/{claim} {verdict}" for study, claim in registered
               for verdict in VERDICTS if verdict not in CASES.get((study, claim), {})]
    assert not missing, f"claims without a constructed case: {missing}"
    assert not set(CASES) - set(registered), "cases for claims that no longer exist"


@pytest.mark.parametrize("key,verdict", [(key, verdict) for key in sorted(CASES)
                                         for verdict in VERDICTS if verdict in CASES[key]],
                         ids=lambda value: "/".join(value) if isinstance(value, tuple) else value)
def test_the_claim_returns_the_constructed_verdict(key, verdict):
    claim = _registered()[key]
    config, results = CASES[key][verdict]()
    finding = claim.evaluate(config, results)
    assert finding.verdict == verdict, finding.evidence
    assert finding.evidence
    if verdict != "INCONCLUSIVE":  # a decided verdict says how many units decided it
        assert finding.n is not None and finding.n > 0, f"{key}: Finding.n is not set"
        assert finding.low <= finding.value <= finding.high or finding.low != finding.low, (
            f"{key}: the value {finding.value} lies outside its interval "
            f"[{finding.low}, {finding.high}]")

"""``points = "all-correct"``: the evaluated test points are those every model classifies
correctly (as transfer benchmarks report), so every clean error is zero and both denominators of
the transfer rate (points both models get right, all points) coincide."""

from __future__ import annotations

from transfer import run_study

from .conftest import tiny_config


def test_all_correct_points_are_classified_correctly_by_every_model(tracking_uri):
    config = tiny_config(points="all-correct", n_points=50, attacks=["fgsm"], eps=[0.2])
    result = run_study(config, tracking_uri=tracking_uri, device="cpu")
    assert not result.failed
    cells = [r for r in result.results.values() if hasattr(r, "targets")]
    assert cells
    for cell in cells:
        assert cell.source_clean_error == 0 and cell.n_points == 50
        for outcome in cell.targets.values():
            assert outcome.clean_error == 0
            assert outcome.transfer_rate.n == outcome.target_error.n == 50
            assert outcome.transfer_rate.count == outcome.target_error.count
    plain = run_study(tiny_config(n_points=50, attacks=["fgsm"], eps=[0.2]),
                      tracking_uri=tracking_uri, device="cpu", experiment="all-points")
    errors = [o.clean_error for r in plain.results.values() if hasattr(r, "targets")
              for o in r.targets.values()]
    assert max(errors) > 0, "with points = all, some model misses some point"

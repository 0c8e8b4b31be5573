"""Constructed robustness results: a normal mlp and its FGSM-trained twin on 300 test points,
white-box error rates, FGSM's and DeepFool's ρ_adv, transfer both ways, and rubbish-class shares
(the normal mlp's and an RBF contrast's). Each claim's three cases change one input of the shared
builder; ``CONTRAST`` holds the rubbish-everywhere cases the contrast decides (the contrast
confident on 285 of the 300 clean test points unless a case says otherwise)."""

from __future__ import annotations

from typing import Any

from transfer import Cell, Rate, wilson_interval
from transfer.studies.robustness.config import NAME, RobustnessConfig
from transfer.studies.robustness.fgsm_reach import FgsmReach
from transfer.studies.robustness.result import RobustnessResult, Rubbish, WhiteBox

STUDY = "robustness"
N = 300


def _rate(count: int, n: int = N) -> Rate:
    low, high = wilson_interval(count, n)
    return Rate(rate=count / n, count=count, n=n, ci_low=low, ci_high=high)


def _reach(ratio: float, low: float, high: float, points: int = N) -> FgsmReach:
    return FgsmReach(eps=0.15, rho_fgsm=0.12 * ratio, rho_deepfool=0.12, ratio=ratio,
                     ratio_ci_low=low, ratio_ci_high=high, points=points,
                     deepfool_points=points)


def _box(group: str, pgd_errors: int, reach: FgsmReach, rubbish: int) -> WhiteBox:
    return WhiteBox(group=group, clean_error=_rate(9), errors={"pgd": [_rate(pgd_errors)]},
                    deepfool_l2_mean=0.5, rho_adv=0.12, fgsm_l2_mean=0.9, rho_adv_fgsm=0.2,
                    fgsm_to_deepfool=1.7, fooled_by_both=N, fgsm_reach=reach,
                    rubbish=_rate(rubbish, 1000), rubbish_confidence=0.8)


def _case(trained_error: int = 60, forward: int = 40, backward: int = 90,
          reach: tuple[float, float, float, int] = (3.0, 2.6, 3.4, N),
          rubbish: int = 900, contrast: int | None = 0, clean: int | None = 285
          ) -> tuple[Any, dict[Cell, RobustnessResult]]:
    """``trained_error``: the FGSM-trained twin's PGD errors of 300 at eps 0.1 (the normal
    mlp's: 170); ``forward``/``backward``: errors transferred normal → trained and back;
    ``reach``: FGSM/DeepFool ρ ratio, its interval and points, for both models; ``rubbish``:
    the normal mlp's confident noise inputs of 1,000; ``contrast``: the rbf-net contrast's
    (``None``: no contrast cell ran); ``clean``: its confident clean test points of 300
    (``None``: not measured, a result stored before the guard)."""
    config = RobustnessConfig.model_validate({
        "eps": [0.1], "attacks": [{"name": "pgd", "params": {"steps": 10}}],
        "models": [{"name": "mlp"}, {"name": "mlp", "label": "mlp-fgsm", "params": {
            "adversarial": {"method": "fgsm", "eps": 0.1}}}]})
    ratio = _reach(*reach)
    boxes = {"mlp": _box("normal", 170, ratio, rubbish),
             "mlp-fgsm": _box("fgsm", trained_error, ratio, 300)}
    transfer = {"mlp": {"mlp": _rate(170), "mlp-fgsm": _rate(forward)},
                "mlp-fgsm": {"mlp-fgsm": _rate(trained_error), "mlp": _rate(backward)}}
    results = {}
    for model in ("mlp", "mlp-fgsm"):
        results[Cell.make(NAME, part="white-box", model=model)] = RobustnessResult(
            eps=[0.1], white_box=boxes[model])
        results[Cell.make(NAME, part="transfer", model=model)] = RobustnessResult(
            transfer=transfer[model])
    if contrast is not None:
        results[Cell.make(NAME, part="contrast", model="rbf-net")] = RobustnessResult(
            contrast=Rubbish(rubbish=_rate(contrast, 1000), rubbish_confidence=0.01,
                             clean_confident=None if clean is None else _rate(clean),
                             clean_confidence=None if clean is None else 0.9,
                             clean_error=_rate(12)))
    return config, results


CASES = {
    "training-lowers-error": {
        "PASS": lambda: _case(trained_error=60),
        "FAIL": lambda: _case(trained_error=230),  # the trained twin errs more
        "INCONCLUSIVE": lambda: _case(trained_error=160),  # 53% vs 57%: intervals overlap
    },
    "transfer-asymmetry": {
        "PASS": lambda: _case(forward=40),
        "FAIL": lambda: _case(forward=140),
        "INCONCLUSIVE": lambda: _case(forward=80),  # 27% vs 30%
    },
    "deepfool-smaller-than-fgsm": {
        "PASS": lambda: _case(reach=(3.0, 2.6, 3.4, N)),
        "FAIL": lambda: _case(reach=(1.9, 1.7, 2.1, N)),  # below 2x, though its interval is not
        "INCONCLUSIVE": lambda: _case(reach=(2.1, 1.9, 2.3, N)),  # above 2x, interval not
    },
    "rubbish-everywhere": {
        "PASS": lambda: _case(rubbish=900),
        "FAIL": lambda: _case(rubbish=300),
        "INCONCLUSIVE": lambda: _case(rubbish=510),  # 51.0% [47.9, 54.1]
    },
}

# rubbish-everywhere with the normal models' share clearly above 50% (900 of 1,000): the RBF
# contrast decides the verdict
CONTRAST = {
    "PASS": lambda: _case(contrast=0),
    "FAIL": lambda: _case(contrast=700),  # the contrast is fooled too: 70.0% [67.1, 72.7]
    "INCONCLUSIVE": lambda: _case(contrast=None),  # no contrast cell ran
    "INCONCLUSIVE, undecided contrast": lambda: _case(contrast=490),  # 49.0% [45.9, 52.1]
    # the guard: a contrast unconfident on the clean test points says nothing about noise, so
    # neither its 0% nor its 70% on noise decides (the value is the normal pooled share)
    "INCONCLUSIVE, contrast unconfident on data": lambda: _case(contrast=0, clean=0),
    "INCONCLUSIVE, contrast unconfident on data, fooled": lambda: _case(contrast=700, clean=0),
    "INCONCLUSIVE, contrast at chance on data": lambda: _case(clean=160),  # 53.3% [47.7, 58.9]
    "INCONCLUSIVE, clean share not measured": lambda: _case(clean=None),
}

"""The robustness study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from transfer import CellResult, Rate

from .fgsm_reach import FgsmReach


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhiteBox(_Part):
    """One model under white-box attack: error rates per attack and eps, minimal perturbations
    (DeepFool and FGSM's smallest fooling step, L2) and the rubbish-class measures."""

    group: str
    clean_error: Rate
    errors: dict[str, list[Rate]]  # attack label -> one rate per eps of the config
    deepfool_l2_mean: float
    rho_adv: float
    fgsm_l2_mean: float
    rho_adv_fgsm: float
    fgsm_to_deepfool: float  # mean FGSM / mean DeepFool L2 norm, over the points both fool
    fooled_by_both: int
    fgsm_reach: FgsmReach  # FGSM's ρ_adv at the eps that misclassifies 90%, over DeepFool's
    rubbish: Rate  # noise inputs put in a class with confidence above the threshold
    rubbish_confidence: float

    def metrics(self, eps: list[float]) -> dict[str, float]:
        metrics = {"clean_error": self.clean_error.rate, "rho_adv": self.rho_adv,
                   "rho_adv_fgsm": self.rho_adv_fgsm, "deepfool_l2_mean": self.deepfool_l2_mean,
                   "fgsm_l2_mean": self.fgsm_l2_mean, "fgsm_to_deepfool": self.fgsm_to_deepfool,
                   "rho_adv_fgsm90": self.fgsm_reach.rho_fgsm,
                   "fgsm_eps90": self.fgsm_reach.eps,
                   "fgsm90_over_deepfool": self.fgsm_reach.ratio,
                   "rubbish_share": self.rubbish.rate,
                   "rubbish_confidence": self.rubbish_confidence}
        for attack, rates in self.errors.items():
            metrics.update({f"error.{attack}.eps{e:g}": r.rate
                            for e, r in zip(eps, rates, strict=True)})
        return metrics


class Rubbish(_Part):
    """A contrast model: the rubbish-class measures on the noise inputs, and the same share on
    the study's clean test points (whether its units are confident on real data at all; absent
    in results stored before it was measured), with its clean error there."""

    rubbish: Rate  # noise inputs put in a class with confidence above the threshold
    rubbish_confidence: float  # mean over the noise inputs of the largest class confidence
    clean_confident: Rate | None = None  # clean test points with confidence above the threshold
    clean_confidence: float | None = None  # mean over them of the largest class confidence
    clean_error: Rate | None = None  # misclassified clean test points

    def metrics(self) -> dict[str, float]:
        metrics = {"rubbish_share": self.rubbish.rate,
                   "rubbish_confidence": self.rubbish_confidence}
        if self.clean_confident is not None and self.clean_confidence is not None:
            metrics.update({"clean_confident_share": self.clean_confident.rate,
                            "clean_confidence": self.clean_confidence})
        if self.clean_error is not None:
            metrics["clean_error"] = self.clean_error.rate
        return metrics


class RobustnessResult(CellResult):
    """A ``white-box`` cell (``white_box``), a ``transfer`` cell (``transfer``: target label
    -> its error rate on the source's adversarial examples) or a ``contrast`` cell
    (``contrast``)."""

    eps: list[float] = Field(default_factory=list)
    white_box: WhiteBox | None = None
    transfer: dict[str, Rate] | None = None
    contrast: Rubbish | None = None

    def metrics(self) -> dict[str, float]:
        if self.white_box is not None:
            return self.white_box.metrics(self.eps)
        if self.contrast is not None:
            return self.contrast.metrics()
        return {f"error.{target}": rate.rate for target, rate in (self.transfer or {}).items()}

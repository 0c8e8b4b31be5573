"""The transfer-matrix study's typed cell result: what its claims, report and headlines read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from transfer import CellResult, Rate

RATES = ("transfer_rate", "target_error", "conditional_transfer", "targeted_success")


class TargetOutcome(BaseModel):
    """How one target classified a source's adversarial batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transfer_rate: Rate
    target_error: Rate
    conditional_transfer: Rate
    targeted_success: Rate | None = None
    clean_error: float
    transferred: str = ""  # per evaluation point: 1 fooled, 0 not, - not in C (point_outcomes)
    # a minimal attack's control: the same, on noise of each point's own perturbation L2 size
    matched_noise: Rate | None = None
    matched_transferred: str = ""


class TransferMatrixResult(CellResult):
    """One (source, attack, eps) cell: the source's own numbers and every target's."""

    source_clean_error: float
    perturbation_linf: float
    perturbation_l2: float
    matched_noise_l2: float | None = None  # mean L2 of the size-matched noise (minimal attacks)
    whitebox_success: Rate
    attack_measures: dict[str, float]
    n_points: int
    targets: dict[str, TargetOutcome]
    perturbation: list[float] | None = None  # a universal attack's one perturbation, flattened
    perturbation_shape: list[int] = []  # ... and its shape (an input's)

    def metrics(self) -> dict[str, float]:
        metrics = {"source_clean_error": self.source_clean_error,
                   "perturbation_linf": self.perturbation_linf,
                   "perturbation_l2": self.perturbation_l2,
                   "whitebox_success": self.whitebox_success.rate}
        if self.matched_noise_l2 is not None:
            metrics["matched_noise_l2"] = self.matched_noise_l2
        metrics.update({f"attack_{name}": value for name, value in self.attack_measures.items()})
        for label, outcome in self.targets.items():  # what a user charts: the rates; the
            # counts and the other rates' intervals stay in the result file and the tables
            metrics.update(outcome.transfer_rate.metrics("transfer_rate", f".{label}",
                                                         counts=False))
            for name in RATES[1:]:
                measured: Rate | None = getattr(outcome, name)
                if measured is not None:
                    metrics[f"{name}.{label}"] = measured.rate
            metrics[f"target_clean_error.{label}"] = outcome.clean_error
            if outcome.matched_noise is not None:
                metrics[f"matched_noise_rate.{label}"] = outcome.matched_noise.rate
        return metrics
